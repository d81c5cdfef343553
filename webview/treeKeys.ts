/**
 * The keys of an ARIA tree grid (WAI-ARIA APG "Treegrid"), as decisions: which row to move to, or
 * whether to open or close the focused parent. Kept apart from the grid so the mapping reads at a
 * glance and the grid only applies it.
 */
export type TreeAction =
  | { kind: 'move'; by: number }
  | { kind: 'first' }
  | { kind: 'last' }
  | { kind: 'parent' }
  | { kind: 'expand'; open: boolean }
  | { kind: 'toggle' };

export interface TreeRow {
  /** A row with children (a provider), as opposed to a leaf (a model) or the totals row. */
  parent: boolean;
  expanded: boolean;
  level: 1 | 2;
}

/** null: not a tree key; leave the event alone. */
export function treeAction(key: string, row: TreeRow, page: number): TreeAction | null {
  switch (key) {
    case 'ArrowDown':
      return { kind: 'move', by: 1 };
    case 'ArrowUp':
      return { kind: 'move', by: -1 };
    case 'PageDown':
      return { kind: 'move', by: page };
    case 'PageUp':
      return { kind: 'move', by: -page };
    case 'Home':
      return { kind: 'first' };
    case 'End':
      return { kind: 'last' };
    case 'ArrowRight':
      // Closed parent: open it. Open parent: into its first child. Leaf: nothing (but handled).
      return row.parent && !row.expanded ? { kind: 'expand', open: true } : row.expanded ? { kind: 'move', by: 1 } : { kind: 'move', by: 0 };
    case 'ArrowLeft':
      return row.expanded ? { kind: 'expand', open: false } : row.level === 2 ? { kind: 'parent' } : { kind: 'move', by: 0 };
    case 'Enter':
    case ' ':
      return row.parent ? { kind: 'toggle' } : { kind: 'move', by: 0 };
    default:
      return null;
  }
}
