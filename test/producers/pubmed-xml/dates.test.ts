import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  normalizeDate,
  parseMedlineDate,
  parseMonth,
} from '../../../src/producers/pubmed-xml/dates.js';

test('Year/Month/Day: the most precise ISO prefix the data supports', () => {
  assert.equal(normalizeDate({ year: '2016', month: 'Mar', day: '7' }), '2016-03-07');
  assert.equal(normalizeDate({ year: '2016', month: '03' }), '2016-03');
  assert.equal(normalizeDate({ year: '2016', month: 'September' }), '2016-09');
  assert.equal(normalizeDate({ year: '2016' }), '2016');
  assert.equal(
    normalizeDate({ year: '2016', day: '7' }),
    '2016',
    'a day without a month is dropped',
  );
  assert.equal(normalizeDate({ year: '2016', month: '13' }), '2016');
  assert.equal(normalizeDate({ year: '2016', month: 'Mar', day: '32' }), '2016-03');
  assert.equal(normalizeDate({ year: '2001', season: 'May-Jun' }), '2001');
  assert.equal(normalizeDate({ year: ' 2016 ', month: ' 3 ' }), '2016-03');
  assert.equal(normalizeDate({}), null);
  assert.equal(normalizeDate({ year: '16' }), null);
});

test('MedlineDate: first year, then a month name right after it, then a day', () => {
  assert.equal(parseMedlineDate('2008 Jul-Aug'), '2008-07');
  assert.equal(parseMedlineDate('1998 Dec-1999 Jan'), '1998-12');
  assert.equal(parseMedlineDate('2015 Nov 15-Dec 1'), '2015-11-15');
  assert.equal(parseMedlineDate('2000 Spring'), '2000');
  assert.equal(parseMedlineDate('1999-2000'), '1999');
  assert.equal(parseMedlineDate('Summer 2010'), '2010');
  assert.equal(parseMedlineDate('n.d.'), null);
  assert.equal(normalizeDate({ medlineDate: '2012 Jan-Feb' }), '2012-01');
});

test('months by number or English name', () => {
  assert.equal(parseMonth('02'), 2);
  assert.equal(parseMonth('feb'), 2);
  assert.equal(parseMonth('December'), 12);
  assert.equal(parseMonth('0'), null);
  assert.equal(parseMonth('Spr'), null);
});
