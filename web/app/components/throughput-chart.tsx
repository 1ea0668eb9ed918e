interface Point {
  at: string;
  completed: number;
  failed: number;
}

/** Stacked bars (completed, failed) per bucket, drawn as SVG so it needs no script or library. */
export function ThroughputChart({ points, label, bucket }: { points: Point[]; label: string; bucket: "minute" | "hour" }) {
  const max = Math.max(1, ...points.map((p) => p.completed + p.failed));
  const width = 600;
  const height = 120;
  const barWidth = width / points.length;
  const total = points.reduce((sum, p) => sum + p.completed, 0);
  const failed = points.reduce((sum, p) => sum + p.failed, 0);
  return (
    <figure>
      <svg
        className="chart"
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${label}: ${total} completed, ${failed} failed`}
      >
        {points.map((p, i) => {
          const completedHeight = (p.completed / max) * height;
          const failedHeight = (p.failed / max) * height;
          return (
            <g key={p.at}>
              <title>{`${new Date(p.at).toLocaleString()}${bucket === "hour" ? " (hour)" : ""}: ${p.completed} completed, ${p.failed} failed`}</title>
              <rect
                className="completed"
                x={i * barWidth + 1}
                y={height - completedHeight}
                width={Math.max(1, barWidth - 2)}
                height={completedHeight}
              />
              <rect
                className="failed"
                x={i * barWidth + 1}
                y={height - completedHeight - failedHeight}
                width={Math.max(1, barWidth - 2)}
                height={failedHeight}
              />
            </g>
          );
        })}
      </svg>
      <figcaption className="muted">
        {label}: {total} completed, {failed} failed (peak {max} per {bucket})
      </figcaption>
    </figure>
  );
}
