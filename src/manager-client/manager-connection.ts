import { Metadata, status, type CallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js'
import { fromGrpcError } from '../common/grpc-status.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { ManagerServiceClient } from '../protocol/generated/damselfly/manager/v1/manager.js'

/** One unary call of `ManagerService`, made on the client it is given. */
export type ManagerInvoke<Res> = (
  client: ManagerServiceClient,
  metadata: Metadata,
  options: CallOptions,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall

export interface ManagerConnectionInit {
  /** `host:port` of every manager; they share one database, so any of them answers alike. */
  readonly addresses: readonly string[]
  /** Mutual TLS with this process's identity; insecure only when it runs --insecure. */
  readonly credentials: ChannelCredentials
  /** Extra channel options (a TLS server name override, say). */
  readonly channelOptions?: Readonly<Record<string, string | number>>
  /** The deadline of each call on one manager. */
  readonly callTimeoutMs: number
}

/** What the loops need of a connection: calls, and the addresses for their logs. */
export type ManagerCaller = Pick<ManagerConnection, 'call' | 'addresses'>

function transportFailure(error: ServiceError): boolean {
  return error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED
}

/**
 * The channels to every manager. A call goes to the manager that answered last, and on to the
 * next when that one cannot be reached; an answer, even a refusal, ends it. Not Startable: it
 * holds channels only, which `close` releases.
 */
export class ManagerConnection {
  private readonly clients = new Map<string, ManagerServiceClient>()
  private preferred = 0

  private credentials: ChannelCredentials

  constructor(private readonly init: ManagerConnectionInit) {
    this.credentials = init.credentials
    if (init.addresses.length === 0) throw new DamselflyError('CONFIG_INVALID', 'manager.addrs names no manager')
  }

  get addresses(): readonly string[] {
    return this.init.addresses
  }

  /**
   * Makes one call, trying each manager in turn. Throws MANAGER_UNAVAILABLE when none can be
   * reached, CANCELLED when `signal` aborts, or the code the manager answered with.
   */
  async call<Res>(what: string, invoke: ManagerInvoke<Res>, signal: AbortSignal): Promise<Res> {
    const { addresses } = this.init
    const failures: string[] = []
    for (let attempt = 0; attempt < addresses.length; attempt++) {
      const index = (this.preferred + attempt) % addresses.length
      const address = addresses[index] ?? ''
      try {
        const response = await this.callOne(address, invoke, signal)
        this.preferred = index
        return response
      } catch (error) {
        if (signal.aborted) throw new DamselflyError('CANCELLED', `${what}: cancelled`, { cause: error })
        if (!(error instanceof ManagerUnreachable)) throw fromGrpcError(error as ServiceError, `${what} at manager ${address}`)
        failures.push(`${address}: ${error.message}`)
      }
    }
    throw new DamselflyError('MANAGER_UNAVAILABLE', `${what}: no manager answered (${failures.join('; ')})`)
  }

  /**
   * Calls from now on go over channels with these credentials (a renewed certificate). The old
   * channels are closed: a unary call is short, and the next one opens a new channel.
   */
  setCredentials(credentials: ChannelCredentials): void {
    this.credentials = credentials
    this.close()
  }

  close(): void {
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
  }

  private client(address: string): ManagerServiceClient {
    let client = this.clients.get(address)
    if (client === undefined) {
      client = new ManagerServiceClient(address, this.credentials, { ...this.init.channelOptions })
      this.clients.set(address, client)
    }
    return client
  }

  private callOne<Res>(address: string, invoke: ManagerInvoke<Res>, signal: AbortSignal): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error)
        return
      }
      const onAbort = (): void => call.cancel()
      const call = invoke(this.client(address), new Metadata(), { deadline: Date.now() + this.init.callTimeoutMs }, (error, response) => {
        signal.removeEventListener('abort', onAbort)
        if (error === null) resolve(response)
        else reject(transportFailure(error) ? new ManagerUnreachable(error.details || error.message) : error)
      })
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/** A manager that could not be reached (as opposed to one that answered with a refusal). */
class ManagerUnreachable extends Error {}
