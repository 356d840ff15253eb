// "did you mean program_name?": the closest known name to a misspelt one, by edit
// distance. Pure; compares case-insensitively since config names are.

/** The candidate nearest to `word`, if it is close enough to be a plausible typo. */
export function suggestName(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  // One edit for short names, two for longer ones: beyond that, suggestions mislead.
  const limit = lower.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean X?` or nothing, ready to append to a message. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggestName(word, candidates);
  return s === undefined ? '' : `; did you mean ${s}?`;
}

/** Damerau-Levenshtein (optimal string alignment): a swap of neighbours is one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i += 1) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j += 1) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}
