import { T0 } from '../../support/delivery.js';
import { MemoryOutbox } from '../../support/memory-outbox.js';
import { expectOldestDueAtContract } from '../../support/outbox-contract.js';

// The worker's tests stand on the in-memory outbox: it answers the self-check's question as the database does.
describe('MemoryOutbox', () => {
  it('tells when the longest-waiting claimable row fell due, as the real outbox does', async () => {
    const outbox = new MemoryOutbox(T0);
    let queued = 0;
    await expectOldestDueAtContract(outbox, T0, async (due) => due.map((at) => {
      queued += 1;
      outbox.add(`n${queued}`, `due-${queued}`, { createdAt: T0, due: at });
      return `n${queued}`;
    }));
  });
});
