// A reconcile loop of the simulation: runs `step` every `intervalMs` until stopped, keeping the
// last error for diagnosis (a simulated kubelet, like a real one, retries on the next pass).
export class PollLoop {
  private readonly step: () => Promise<void>;
  private readonly intervalMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  lastError: unknown;

  constructor(step: () => Promise<void>, intervalMs: number) {
    this.step = step;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (err) {
        this.lastError = err;
      }
      await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }
}
