import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { serveOperatorEndpoints } from '../src/common/metrics.js'
import { DaemonMetrics } from '../src/daemon/daemon-metrics.js'
import { SchedulerMetrics } from '../src/scheduler/scheduler-metrics.js'
import { metricValue } from './support/processes.js'

// metricValue is what every suite reads counters with: a metric that is not there must fail a
// check, never read as an unchanged 0.

describe('metrics support: reading a sample', { timeout: 30_000 }, () => {
  let server!: Server
  let address!: string
  let daemon!: DaemonMetrics

  before(async () => {
    const registry = new Registry()
    daemon = new DaemonMetrics(registry)
    new SchedulerMetrics(registry, { hosts: () => 0, tasks: () => 0, peers: () => 0 })
    server = createServer((req, res) => {
      if (!serveOperatorEndpoints(req, res, registry)) res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('reads the series of closed label sets as 0 before they move, since the processes export them', { timeout: 5_000 }, async () => {
    for (const sample of [
      'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}',
      'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}',
      'damselfly_dfdaemon_proxy_request_total{kind="p2p"}',
      'damselfly_scheduler_schedule_total{outcome="parents"}',
      'damselfly_scheduler_blocklisted_parents_total{reason="bad_content"}',
      'damselfly_scheduler_source_failure_relayed_total{code="SOURCE_STATUS"}',
      'damselfly_scheduler_back_to_source_total',
    ]) assert.equal(await metricValue(address, sample), 0, sample)
    daemon.downloadTrafficBytes.inc({ type: 'remote_peer' }, 42)
    assert.equal(await metricValue(address, 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'), 42)
  })

  it('fails on a metric or label it does not export, rather than reading 0', { timeout: 5_000 }, async () => {
    await assert.rejects(metricValue(address, 'damselfly_dfdaemon_download_traffic_total{type="remote_peer"}'), /exports no sample .* \(nor any of damselfly_dfdaemon_download_traffic_total\)/)
    await assert.rejects(metricValue(address, 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote"}'), /it has damselfly_dfdaemon_download_traffic_bytes_total\{type="back_to_source"\} 0/)
  })

  it('reads an open label set\'s series that has not moved as the default it is given, only for a metric it exports', { timeout: 5_000 }, async () => {
    assert.equal(await metricValue(address, 'damselfly_dfdaemon_upload_request_total{status="200"}', { absent: 0 }), 0)
    await assert.rejects(metricValue(address, 'damselfly_dfdaemon_upload_requests_total{status="200"}', { absent: 0 }), /exports no sample/)
    await assert.rejects(metricValue(address, 'damselfly_dfdaemon_upload_request_total{status="200"}'), /exports no sample/, 'without a default it is absent')
  })
})
