export interface Bar {
  readonly label: string
  /** Stacked parts of the bar, drawn in this order from the baseline. */
  readonly parts: readonly { readonly value: number; readonly series: string }[]
}

/**
 * A bar chart in SVG, stacked when bars have several parts; `series` names each part's colour
 * (a CSS class `series-<name>`, e.g. `series-peer`, `series-origin`). The figures are also in the
 * chart's description, so a screen reader gets them.
 */
export function BarChart({ title, bars, format = String, height = 180 }: { readonly title: string; readonly bars: readonly Bar[]; readonly format?: (value: number) => string; readonly height?: number }) {
  const width = 640
  const top = 10
  const bottom = 28
  const max = Math.max(1, ...bars.map((bar) => bar.parts.reduce((sum, part) => sum + part.value, 0)))
  const slot = bars.length === 0 ? width : width / bars.length
  const barWidth = Math.max(2, Math.min(48, slot * 0.7))
  const scale = (height - top - bottom) / max
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12))
  const description = bars.map((bar) => `${bar.label}: ${bar.parts.map((part) => `${part.series} ${format(part.value)}`).join(', ')}`).join('; ')
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
      <title>{title}</title>
      <desc>{description}</desc>
      <text x={4} y={top + 10} className="chart-axis">{format(max)}</text>
      <line x1={0} x2={width} y1={height - bottom} y2={height - bottom} className="chart-baseline" />
      {bars.map((bar, index) => {
        let y = height - bottom
        const x = index * slot + (slot - barWidth) / 2
        return (
          <g key={bar.label}>
            {bar.parts.map((part) => {
              const h = part.value * scale
              y -= h
              return <rect key={part.series} x={x} y={y} width={barWidth} height={h} className={`series-${part.series}`}><title>{`${bar.label} ${part.series}: ${format(part.value)}`}</title></rect>
            })}
            {index % labelEvery === 0 ? <text x={x + barWidth / 2} y={height - 10} textAnchor="middle" className="chart-axis">{bar.label}</text> : null}
          </g>
        )
      })}
    </svg>
  )
}
