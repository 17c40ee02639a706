import type { Type } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { TraceContext } from './trace-context';

/** A request once it has its id (see request-id.middleware.ts) and its trace (trace-context.ts). */
export type HotRequest = IncomingMessage & { id?: string; trace?: TraceContext };

/** What a hot route answers: a status and a JSON body already written out (as text, or as its UTF-8 bytes). */
export interface HotAnswer {
  status: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * A route served straight off the HTTP server, ahead of Express and Nest (see app-http/hot-routes.ts): one
 * method and a path `<segment>/:param` under the global prefix, e.g. `ingest/:source`.
 */
export interface HotRoute {
  method: 'GET' | 'POST';
  /** The path under the prefix, as the controller declares it: one literal segment, then one parameter. */
  path: `${string}/:${string}`;
  /** The controller and its handler that serve the same route through Express: their guards run here, as Nest runs them. */
  controller: Type;
  handler: string;
  /** The answer; a thrown error is answered in the one error shape, as the exceptions filter would. */
  answer(req: HotRequest, param: string, query: string | undefined): Promise<HotAnswer>;
}
