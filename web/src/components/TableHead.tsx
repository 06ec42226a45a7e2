/** A table's header row: one `<th scope="col">` per column; `num` right-aligns, `narrow` hides on phones. */
export type Column = string | { label: string; num?: boolean; narrow?: boolean };

export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => {
          const c = typeof column === 'string' ? { label: column } : column;
          const classes = [c.num ? 'num' : '', c.narrow ? 'hide-narrow' : ''].filter(Boolean).join(' ');
          return (
            <th key={c.label} scope="col" class={classes || undefined}>
              {c.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}
