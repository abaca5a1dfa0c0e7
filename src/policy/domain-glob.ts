// allowedDomains globs work label by label, as people read domain names:
//   "*"  one whole label            *.team.example.com   matches a.team.example.com
//   "**" one or more labels         **.team.example.com  matches a.b.team.example.com
//   "x*" part of one label          web-*.example.com    matches web-1.example.com
// A requested wildcard name ("*.team.example.com") is allowed only by a glob
// whose label at that place is "*" or "**": a wildcard is not one name but all.

export function domainMatchesGlob(name: string, glob: string): boolean {
  const labels = name.toLowerCase().split('.');
  const pattern = glob.toLowerCase().split('.');
  // matches[j][i]: pattern[j..] matches labels[i..]. Filled from the end, each
  // cell once: time labels x pattern, however many "**" a glob holds (a plain
  // recursion is exponential in them).
  let next: boolean[] = Array.from({ length: labels.length + 1 }, (_, i) => i === labels.length);
  for (let j = pattern.length - 1; j >= 0; j--) {
    const p = pattern[j] ?? '';
    const here: boolean[] = new Array<boolean>(labels.length + 1).fill(false);
    if (p === '**') {
      // one or more labels: here[i] = next[i+1] || next[i+2] || ...
      let anyLater = false;
      for (let i = labels.length - 1; i >= 0; i--) {
        anyLater = anyLater || next[i + 1] === true;
        here[i] = anyLater;
      }
    } else {
      for (let i = 0; i < labels.length; i++) {
        const label = labels[i] ?? '';
        const ok = label === '*' ? p === '*' : matchLabel(label, p);
        here[i] = ok && next[i + 1] === true;
      }
    }
    next = here;
  }
  return next[0] === true;
}

/** One label against one pattern label, "*" matching any run of label characters: greedy with one backtrack point, linear in practice and never exponential. */
function matchLabel(label: string, pattern: string): boolean {
  if (!pattern.includes('*')) return label === pattern;
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (i < label.length) {
    if (j < pattern.length && pattern[j] !== '*' && pattern[j] === label[i]) {
      i++;
      j++;
    } else if (j < pattern.length && pattern[j] === '*') {
      star = j++;
      resume = i;
    } else if (star >= 0 && /[a-z0-9-]/.test(label[resume] ?? '')) {
      // "*" spans label characters only (letters, digits, hyphens).
      j = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[j] === '*') j++;
  return j === pattern.length;
}

export function domainAllowed(name: string, globs: readonly string[]): boolean {
  return globs.some((g) => domainMatchesGlob(name, g));
}
