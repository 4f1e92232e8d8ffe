/**
 * A small hand-written SVG line chart: one panel per file size, the host count on a doubling x
 * axis, a value on a logarithmic y axis (by default seconds: curl's times are an order of
 * magnitude above the rest; the swarm simulator plots the last host's time over the lower bound).
 */

export interface ChartPoint {
  readonly hosts: number
  /** In the y axis's unit. */
  readonly value: number
}

export interface ChartSeries {
  readonly name: string
  readonly color: string
  readonly dashed?: boolean
  readonly points: readonly ChartPoint[]
}

export interface ChartPanel {
  readonly title: string
  readonly series: readonly ChartSeries[]
}

const PANEL_WIDTH = 420
const PANEL_HEIGHT = 300
const MARGIN = { left: 60, right: 20, top: 30, bottom: 45 } as const
const LEGEND_HEIGHT = 50
const TICK_MANTISSAS = [1, 2, 5] as const

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** 1, 2, 5, 10, 20, 50 ... within [low, high]. */
function logTicks(low: number, high: number): number[] {
  const ticks: number[] = []
  for (let exponent = Math.floor(Math.log10(low)); exponent <= Math.ceil(Math.log10(high)); exponent++) {
    for (const mantissa of TICK_MANTISSAS) {
      const tick = mantissa * 10 ** exponent
      if (tick >= low && tick <= high) ticks.push(tick)
    }
  }
  return ticks
}

/** What the y axis shows: its label, and the unit after each point's value in its tooltip. */
export interface ChartAxis {
  readonly label: string
  readonly unit: string
}

const SECONDS_AXIS: ChartAxis = { label: 'last host done (s, log scale)', unit: ' s' }

function panelSvg(panel: ChartPanel, offsetX: number, offsetY: number, axis: ChartAxis): string {
  const points = panel.series.flatMap((series) => series.points)
  const hostCounts = [...new Set(points.map((point) => point.hosts))].sort((a, b) => a - b)
  const values = points.map((point) => point.value).filter((value) => value > 0)
  const low = Math.min(...values) / 1.5
  const high = Math.max(...values) * 1.5
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom
  const x = (hosts: number): number => {
    const index = hostCounts.indexOf(hosts)
    return offsetX + MARGIN.left + (hostCounts.length === 1 ? plotWidth / 2 : (index / (hostCounts.length - 1)) * plotWidth)
  }
  const y = (value: number): number => offsetY + MARGIN.top + plotHeight * (1 - (Math.log(value) - Math.log(low)) / (Math.log(high) - Math.log(low)))
  const left = offsetX + MARGIN.left
  const bottom = offsetY + MARGIN.top + plotHeight
  const parts = [
    `<text x="${left + plotWidth / 2}" y="${offsetY + 18}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${left}" y="${offsetY + MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
    ...logTicks(low, high).flatMap((tick) => [
      `<line x1="${left}" x2="${left + plotWidth}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick}</text>`,
    ]),
    ...hostCounts.map((hosts) => `<text x="${x(hosts).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${hosts}</text>`),
    `<text x="${left + plotWidth / 2}" y="${bottom + 36}" text-anchor="middle">hosts (N)</text>`,
    `<text transform="translate(${offsetX + 16} ${offsetY + MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(axis.label)}</text>`,
  ]
  for (const series of panel.series) {
    const sorted = [...series.points].filter((point) => point.value > 0).sort((a, b) => a.hosts - b.hosts)
    const path = sorted.map((point) => `${x(point.hosts).toFixed(1)},${y(point.value).toFixed(1)}`).join(' ')
    parts.push(`<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`)
    for (const point of sorted) {
      parts.push(`<circle cx="${x(point.hosts).toFixed(1)}" cy="${y(point.value).toFixed(1)}" r="3" fill="${series.color}"><title>${escapeXml(`${series.name}, N=${point.hosts}: ${point.value.toFixed(axis.unit === SECONDS_AXIS.unit ? 1 : 2)}${axis.unit}`)}</title></circle>`)
    }
  }
  return parts.join('\n')
}

/** The chart as a standalone SVG document; panels side by side, one legend for all. */
export function lineChartSvg(panels: readonly ChartPanel[], init: { title: string; axis?: ChartAxis }): string {
  const width = PANEL_WIDTH * Math.max(1, panels.length)
  const height = PANEL_HEIGHT + LEGEND_HEIGHT + 30
  const names = new Map<string, ChartSeries>()
  for (const series of panels.flatMap((panel) => panel.series)) names.set(series.name, series)
  const legend = [...names.values()].map((series, i) => {
    const legendX = 20 + i * 190
    const legendY = height - LEGEND_HEIGHT / 2
    return [
      `<line x1="${legendX}" x2="${legendX + 30}" y1="${legendY}" y2="${legendY}" stroke="${series.color}" stroke-width="2"${series.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${legendX + 36}" y="${legendY + 4}">${escapeXml(series.name)}</text>`,
    ].join('\n')
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(init.title)}</text>`,
    ...panels.map((panel, i) => panelSvg(panel, i * PANEL_WIDTH, 25, init.axis ?? SECONDS_AXIS)),
    ...legend,
    '</svg>',
    '',
  ].join('\n')
}
