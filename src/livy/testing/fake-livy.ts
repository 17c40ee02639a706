import { ConflictError } from '../../common/errors/errors';
import { LivyBatch, LivyBatchRequest, LivyClient, LivyLog } from '../livy.client';

/**
 * Unit-test stand-in for the Livy adapter, behaving as Livy's batch sessions do: ids count up from
 * 0, a name stays taken while any session carrying it exists (the adapter's ConflictError), a
 * deleted (killed) session is forgotten at once, and reads return copies. Every method is a jest
 * mock, so a test can make one call fail (`mockRejectedValueOnce`) or check what was sent.
 */
export class FakeLivy implements Pick<LivyClient, 'listBatches' | 'getBatch' | 'getLog' | 'createBatch' | 'deleteBatch' | 'ping'> {
  private readonly sessions = new Map<number, LivyBatch>();
  private readonly logs = new Map<number, string[]>();
  private nextId = 0;

  listBatches = jest.fn(async (): Promise<LivyBatch[]> => [...this.sessions.values()].map((b) => ({ ...b })));

  getBatch = jest.fn(async (id: number): Promise<LivyBatch | undefined> => {
    const b = this.sessions.get(id);
    return b && { ...b };
  });

  getLog = jest.fn(async (id: number, from: number, size: number): Promise<LivyLog | undefined> => {
    if (!this.sessions.has(id)) return undefined;
    const lines = this.logs.get(id) ?? [];
    return { id, from, total: lines.length, log: lines.slice(from, from + size) };
  });

  createBatch = jest.fn(async (req: LivyBatchRequest): Promise<LivyBatch> => {
    if (req.name && [...this.sessions.values()].some((b) => b.name === req.name)) {
      throw new ConflictError(`Livy: Duplicate session name: ${req.name}`);
    }
    return { ...this.add({ name: req.name, state: 'starting', appId: null, appInfo: {} }) };
  });

  deleteBatch = jest.fn(async (id: number): Promise<boolean> => this.sessions.delete(id));

  ping = jest.fn(async () => ({ batches: this.sessions.size }));

  /** Puts a session in place as if it had been submitted earlier (by anyone); the next id follows it. */
  add(batch: Omit<LivyBatch, 'id'> & { id?: number }): LivyBatch {
    const added = { ...batch, id: batch.id ?? this.nextId++ };
    this.nextId = Math.max(this.nextId, added.id + 1);
    this.sessions.set(added.id, added);
    return added;
  }

  setState(id: number, state: string): void {
    this.sessions.get(id)!.state = state;
  }

  setLog(id: number, lines: string[]): void {
    this.logs.set(id, lines);
  }

  /** Livy restarted: every session is forgotten and ids start from 0 again. */
  restart(): void {
    this.sessions.clear();
    this.logs.clear();
    this.nextId = 0;
  }

  /** As the services see it. */
  get client(): LivyClient {
    return this as unknown as LivyClient;
  }
}
