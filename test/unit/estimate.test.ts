import { describe, expect, it } from 'vitest';
import { addSample, estimateOf, MAX_SAMPLES, type Sample } from '../../lambda/domain/estimate.js';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const sample = (minutes: number, percent: number): Sample => [(T0 + minutes * 60_000) / 1000, percent];

describe('addSample', () => {
  it.each<[string, Sample[] | undefined, number, number | null, Sample[]]>([
    ['starts a history', undefined, 0, 5, [sample(0, 5)]],
    ['adds a moved value', [sample(0, 5)], 5, 9, [sample(0, 5), sample(5, 9)]],
    ['ignores an unchanged value', [sample(0, 5)], 5, 5, [sample(0, 5)]],
    ['ignores an unknown value', [sample(0, 5)], 5, null, [sample(0, 5)]],
    ['starts again when progress goes back (a rerun)', [sample(0, 50)], 5, 3, [sample(5, 3)]],
  ])('%s', (_name, samples, minutes, percent, expected) => {
    expect(addSample(samples, at(minutes), percent)).toEqual(expected);
  });

  it('keeps the last MAX_SAMPLES', () => {
    let list: Sample[] = [];
    for (let i = 0; i < 20; i++) list = addSample(list, at(i * 5), i);

    expect(list).toHaveLength(MAX_SAMPLES);
    expect(list[0]?.[1]).toBe(20 - MAX_SAMPLES);
  });
});

describe('estimateOf', () => {
  it.each<[string, Sample[], number, { rate: number | null; finish: string | null }]>([
    ['estimating with one sample (never a guess)', [sample(0, 10)], 5, { rate: null, finish: null }],
    ['estimating with two samples', [sample(0, 10), sample(5, 20)], 5, { rate: null, finish: null }],
    [
      'estimating over less than 10 minutes',
      [sample(0, 10), sample(3, 12), sample(6, 14)],
      6,
      { rate: null, finish: null },
    ],
    [
      '20 %/h: 60 % left is 3 hours after the last sample',
      [sample(0, 20), sample(30, 30), sample(60, 40)],
      60,
      { rate: 20, finish: '2026-11-28T14:00:00.000Z' },
    ],
    [
      'a fractional rate, rounded to 0.1 %/h',
      [sample(0, 1), sample(60, 2), sample(120, 4)],
      120,
      { rate: 1.5, finish: '2026-12-01T04:00:00.000Z' },
    ],
  ])('%s', (_name, samples, now, expected) => {
    const e = estimateOf(samples, at(now));

    expect({ rate: e.ratePercentPerHour, finish: e.estimatedFinishAt }).toEqual(expected);
    expect(e.samples).toBe(samples.length);
  });

  it('never puts the finish in the past', () => {
    const e = estimateOf([sample(0, 20), sample(30, 60), sample(60, 99)], at(600));

    expect(e.estimatedFinishAt).toBe(at(600).toISOString());
  });
});
