/**
 * Where a parsed JSON value nests objects and arrays deeper than `maxDepth` (the value itself is
 * depth 1): the top-level field under which it does ('' when the value is that deep at its top), or
 * undefined when it does not. One walk with an explicit stack: it must not recurse itself, since it
 * guards what does (class-transformer and class-validator overflow the stack on a few kB of `[[[[`).
 */
export function tooDeepAt(value: unknown, maxDepth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const containers: object[] = [value];
  const depths: number[] = [1];
  const fields: string[] = [''];
  while (containers.length > 0) {
    const container = containers.pop()!;
    const depth = depths.pop()!;
    const field = fields.pop()!;
    const top = depth === 1;
    const children = Array.isArray(container) ? container : Object.values(container);
    const keys = top && !Array.isArray(container) ? Object.keys(container) : undefined;
    for (let i = 0; i < children.length; i++) {
      const child: unknown = children[i];
      if (typeof child !== 'object' || child === null) continue;
      const at = top ? (keys ? keys[i] : String(i)) : field;
      if (depth >= maxDepth) return at;
      containers.push(child);
      depths.push(depth + 1);
      fields.push(at);
    }
  }
  return undefined;
}
