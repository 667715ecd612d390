// SPDX-License-Identifier: Apache-2.0
/**
 * The aggregation window: intervals aligned to multiples of `maxAggregationInterval` seconds since the
 * epoch (60 or 600; 0 = one window for everything, for whole-capture comparisons). The aggregator asks
 * it, per packet, whether the packet's second is past `end` (then the window moves and the flows are
 * emitted) or before `start` (a reordered capture: the second is clamped to `start`).
 * @module
 */

/** NODATA is written for at most this many idle intervals of one gap; the rest are only counted. */
export const MAX_NODATA_INTERVALS = 10_000

/** The current window [start, end). Before the first packet (or `flush`), start is NaN and end -∞. */
export class AggregationWindow {
  readonly interval: number
  start = NaN
  end = -Infinity

  constructor(interval: number) {
    this.interval = interval
  }

  /** True once a packet or a `flush` opened a window. */
  get isOpen(): boolean {
    return this.start === this.start
  }

  /** Opens the window holding `sec` (the whole time line when the interval is 0). */
  openAt(sec: number): void {
    const I = this.interval
    if (I === 0) {
      this.start = -Infinity
      this.end = Infinity
      return
    }
    this.start = Math.floor(sec / I) * I
    this.end = this.start + I
  }

  /** Back to "no window" (end of input; the aggregator can be reused). */
  reset(): void {
    this.start = NaN
    this.end = -Infinity
  }

  /**
   * Calls `each(start, last)` for the idle intervals between the end of the current window and the
   * window holding `sec` (at most `MAX_NODATA_INTERVALS` of them, so that a clock jump cannot make an
   * unbounded burst); returns how many more idle intervals there were.
   */
  forEachIdle(sec: number, each: (start: number, last: number) => void): number {
    const I = this.interval
    if (I === 0 || !this.isOpen) return 0
    const ns = Math.floor(sec / I) * I
    let w = this.end
    for (let c = 0; w < ns && c < MAX_NODATA_INTERVALS; w += I, c++) each(w, w + I - 1)
    return w < ns ? Math.round((ns - w) / I) : 0
  }
}
