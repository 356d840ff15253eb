// Syntax checks for host and domain names (RFC 1035 section 2.3.4, RFC 1123 section
// 2.1: letters, digits, hyphens; labels up to 63, names up to 253). Pure, no DNS.

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Why `name` is not a host name, or undefined when it is one. */
export function hostnameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.length > 253) return 'it is longer than 253 characters';
  for (const label of name.split('.')) {
    if (label === '') return 'it has an empty label (two dots, or a dot at either end)';
    if (!LABEL.test(label)) {
      return label.length > 63
        ? `label "${label.slice(0, 20)}..." is longer than 63 characters`
        : `label "${label}" may hold only letters, digits and inner hyphens`;
    }
  }
  return undefined;
}

/** Like hostnameProblem, also allowing one leading `*.` (any subdomain). */
export function domainPatternProblem(pattern: string): string | undefined {
  const rest = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (rest.includes('*')) return 'a wildcard is allowed only as a leading "*." label';
  return hostnameProblem(rest);
}
