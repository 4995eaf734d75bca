/**
 * The metric names and label matchers a PromQL expression selects: enough of PromQL to check
 * that dashboards and alerts query series that exist, not a full parser.
 */

/** One vector selector: `name{label="value", ...}`. */
export interface Selector {
  metric: string;
  labels: string[];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The vector selectors of `expr`. */
export function selectors(expr: string): Selector[] {
  const text = expr
    // Grouping and matching clauses name labels, not metrics.
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Range and subquery durations, offsets.
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const found: Selector[] = [];
  const pattern = /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})|([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:]|\s*[({])/g;
  for (const match of text.matchAll(pattern)) {
    const [whole, named, matchers, bare] = match;
    const before = text.slice(0, match.index);
    // A token glued to a preceding digit or dot is part of a number (1e3, 0.5).
    if (/[\d.]$/.test(before)) continue;
    const metric = named ?? bare;
    if (metric === undefined) throw new Error(`a selector without a metric name in: ${expr.trim()} (${whole})`);
    if (KEYWORDS.has(metric.toLowerCase())) continue;
    const labels = matchers === undefined ? [] : [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(([matcher, label]) => {
      if (label === undefined) throw new Error(`a label matcher without a label name in: ${expr.trim()} (${matcher})`);
      return label;
    });
    found.push({ metric, labels });
  }
  return found;
}
