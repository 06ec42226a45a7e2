/** Placeholder rows while a table loads (no long spinners). */
export function SkeletonRows({ rows, cols }: { rows: number; cols: number }) {
  return (
    <>
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r} class="skeleton" aria-hidden="true">
          {Array.from({ length: cols }, (_, c) => (
            <td key={c}>
              <span class="bar" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}
