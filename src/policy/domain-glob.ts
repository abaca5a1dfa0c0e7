// allowedDomains globs work label by label, as people read domain names:
//   "*"  one whole label            *.team.example.com   matches a.team.example.com
//   "**" one or more labels         **.team.example.com  matches a.b.team.example.com
//   "x*" part of one label          web-*.example.com    matches web-1.example.com
// A requested wildcard name ("*.team.example.com") is allowed only by a glob
// whose label at that place is "*" or "**": a wildcard is not one name but all.

export function domainMatchesGlob(name: string, glob: string): boolean {
  const labels = name.toLowerCase().split('.');
  const pattern = glob.toLowerCase().split('.');
  return matchLabels(labels, 0, pattern, 0);
}

function matchLabels(labels: string[], i: number, pattern: string[], j: number): boolean {
  if (j === pattern.length) return i === labels.length;
  const p = pattern[j] ?? '';
  if (p === '**') {
    for (let k = i + 1; k <= labels.length; k++) {
      if (matchLabels(labels, k, pattern, j + 1)) return true;
    }
    return false;
  }
  const label = labels[i];
  if (label === undefined) return false;
  if (label === '*') return p === '*' && matchLabels(labels, i + 1, pattern, j + 1);
  return matchLabel(label, p) && matchLabels(labels, i + 1, pattern, j + 1);
}

function matchLabel(label: string, pattern: string): boolean {
  if (!pattern.includes('*')) return label === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('[a-z0-9-]*')}$`);
  return re.test(label);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function domainAllowed(name: string, globs: readonly string[]): boolean {
  return globs.some((g) => domainMatchesGlob(name, g));
}
