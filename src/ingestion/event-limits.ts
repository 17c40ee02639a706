import { BadRequestError } from '../common/errors/errors';

/** What an event the pipeline cannot carry is counted under. */
export type EventLimit = 'too_deep' | 'bad_number';

/** A 400 for events the pipeline cannot carry; `reason` is the first problem's kind. */
export class EventLimitError extends BadRequestError {
  constructor(
    readonly reason: EventLimit,
    message: string,
    details: EventLimitProblem[],
  ) {
    super(message, details);
  }
}

export interface EventLimitProblem {
  index: number;
  /** JSON Pointer (RFC 6901) into the event. */
  field: string;
  message: string;
}

const MAX_DETAILS = 100;

/**
 * Refuses events that nest objects and arrays deeper than `maxDepth` (the event itself is depth 1),
 * or that hold a number JSON.parse could only read as ±Infinity (1e400): JSON.stringify would write
 * it as null, and Ajv and JSON.stringify recurse, so a 100,000-deep event would overflow the stack.
 * Runs before anything that recurses over an event, and never recurses itself: one iterative walk
 * per event on the hot path; the problems are located (JSON Pointers) only once it found one.
 */
export function checkEventLimits(events: Record<string, unknown>[], maxDepth: number): void {
  for (let i = 0; i < events.length; i++) {
    if (!withinLimits(events[i], maxDepth)) throw limitError(events, i, maxDepth);
  }
}

/** One walk over the event with an explicit stack: false at the first container too deep or number not finite. */
function withinLimits(event: object, maxDepth: number): boolean {
  const containers: object[] = [event];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const container = containers.pop()!;
    const depth = depths.pop()!;
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const child: unknown = container[i];
        if (typeof child === 'object') {
          if (child === null) continue;
          if (depth >= maxDepth) return false;
          containers.push(child);
          depths.push(depth + 1);
        } else if (typeof child === 'number' && !Number.isFinite(child)) return false;
      }
    } else {
      for (const key in container) {
        const child: unknown = (container as Record<string, unknown>)[key];
        if (typeof child === 'object') {
          if (child === null) continue;
          if (depth >= maxDepth) return false;
          containers.push(child);
          depths.push(depth + 1);
        } else if (typeof child === 'number' && !Number.isFinite(child)) return false;
      }
    }
  }
  return true;
}

/** The 400 for a batch whose event `first` broke a limit: every problem from there on (up to 100), in document order. */
function limitError(events: Record<string, unknown>[], first: number, maxDepth: number): EventLimitError {
  const problems: (EventLimitProblem & { kind: EventLimit })[] = [];
  for (let index = first; index < events.length && problems.length < MAX_DETAILS; index++) {
    if (index === first || !withinLimits(events[index], maxDepth)) problems.push(...locate(events[index], index, maxDepth));
  }
  const shown = problems.slice(0, MAX_DETAILS);
  const [{ kind, index, field }] = shown;
  const where = events.length > 1 ? `event ${index}` : 'the event';
  const what =
    kind === 'too_deep'
      ? `${where} nests objects and arrays deeper than ${maxDepth} levels, at ${field}: flatten it (at most ${maxDepth} levels, the event itself being one)`
      : `${where} has a number too large for a double at ${field}: send numbers within ±1.7976931348623157e308, or this one as a string`;
  const more = shown.length > 1 ? ` (${shown.length - 1} more problem(s) in details)` : '';
  return new EventLimitError(
    kind,
    `${what}${more}`,
    shown.map(({ index, field, message }) => ({ index, field, message })),
  );
}

interface Frame {
  container: object;
  keys?: string[];
  next: number;
  depth: number;
  parent?: Frame;
  /** This container's key in its parent. */
  key: string;
}

/** The problems of one event, in document order: a depth-first walk with an explicit stack, never deeper than maxDepth. */
function locate(event: object, index: number, maxDepth: number): (EventLimitProblem & { kind: EventLimit })[] {
  const problems: (EventLimitProblem & { kind: EventLimit })[] = [];
  const stack: Frame[] = [{ container: event, keys: Object.keys(event), next: 0, depth: 1, key: '' }];
  while (stack.length > 0 && problems.length < MAX_DETAILS) {
    const frame = stack[stack.length - 1];
    const size = frame.keys ? frame.keys.length : (frame.container as unknown[]).length;
    if (frame.next >= size) {
      stack.pop();
      continue;
    }
    const key = frame.keys ? frame.keys[frame.next] : String(frame.next);
    frame.next++;
    const child: unknown = (frame.container as Record<string, unknown>)[key];
    if (typeof child === 'number' && !Number.isFinite(child)) {
      problems.push({
        index,
        field: pointer(frame, key),
        kind: 'bad_number',
        message: 'is a number too large for a double (a JSON number beyond ±1.7976931348623157e308)',
      });
    } else if (typeof child === 'object' && child !== null) {
      if (frame.depth >= maxDepth) {
        problems.push({ index, field: pointer(frame, key), kind: 'too_deep', message: `is nested deeper than ${maxDepth} levels` });
      } else {
        stack.push({ container: child, keys: Array.isArray(child) ? undefined : Object.keys(child), next: 0, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
  return problems;
}

/** The JSON Pointer of `key` in the container of `frame`. */
function pointer(frame: Frame, key: string): string {
  const keys = [key];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) keys.push(f.key);
  return keys
    .reverse()
    .map((k) => `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}
