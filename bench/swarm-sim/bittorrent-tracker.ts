/** The BitTorrent baseline's tracker: the hosts in the swarm, and a random list of them for each announce. */
import { randomInt, sample, type Random } from './random.js'

export class Tracker {
  private readonly hosts: number[] = []
  private readonly places = new Map<number, number>()

  constructor(private readonly random: Random) {}

  add(host: number): void {
    if (this.places.has(host)) return
    this.places.set(host, this.hosts.length)
    this.hosts.push(host)
  }

  remove(host: number): void {
    const place = this.places.get(host)
    if (place === undefined) return
    const last = this.hosts.pop()!
    this.places.delete(host)
    if (place < this.hosts.length) {
      this.hosts[place] = last
      this.places.set(last, place)
    }
  }

  /**
   * Up to `count` hosts other than `asking`, uniformly at random. Drawn by rejection from the
   * whole list, so an announce costs O(count), not O(hosts): 10,000 hosts announce every 30 s.
   */
  announce(asking: number, count: number): number[] {
    const others = this.hosts.length - (this.places.has(asking) ? 1 : 0)
    if (others <= 2 * count) return sample(this.random, this.hosts, this.hosts.length).filter((host) => host !== asking).slice(0, count)
    const chosen = new Set<number>()
    while (chosen.size < count) {
      const host = this.hosts[randomInt(this.random, this.hosts.length)]!
      if (host !== asking) chosen.add(host)
    }
    return [...chosen]
  }
}
