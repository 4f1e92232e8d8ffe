/**
 * Every host fetches the payload straight from the origin with curl: the origin link is the limit.
 * curl has nothing to start beforehand, so both of its clocks start with the curls themselves.
 */
import { join } from 'node:path'
import { runOnEveryHost, type PreparedRound, type Scenario, type ScenarioContext } from '../scenario.js'

export class CurlScenario implements Scenario {
  readonly name = 'curl'

  prepare(context: ScenarioContext): Promise<PreparedRound> {
    const { testbed, payload, dir, downloadTimeoutMs } = context
    const files = testbed.hosts.map((_, i) => join(dir, `curl-h${i + 1}.bin`))
    return Promise.resolve({
      start: () => Promise.resolve(),
      fetchAll: async () => ({
        files,
        hostDoneMs: await runOnEveryHost(testbed.hosts, (host, i) =>
          testbed.exec(host, 'curl', ['-sS', '--fail', '-o', files[i]!, payload.url], { timeoutMs: downloadTimeoutMs }),
        ),
      }),
      stop: () => Promise.resolve(),
    })
  }
}
