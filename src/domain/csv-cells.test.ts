import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from './csv-cells.js';

describe('csv', () => {
  it('leaves plain text and numbers as they are', () => {
    expect(csvLine(['abc', 12, -2.5, true, null, undefined, ''])).toBe('abc,12,-2.5,true,,,\r\n');
  });

  it('quotes fields holding a comma, quote, CR or LF and doubles the quotes (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line1\nline2')).toBe('"line1\nline2"');
    expect(csvCell('a\r\nb')).toBe('"a\r\nb"');
  });

  it('defuses text that a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe('"\'=HYPERLINK(""http://evil"",""x"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe('"\'\tx"');
    expect(csvCell('\rx')).toBe('"\'\rx"');
    expect(csvCell('a=1')).toBe('a=1');
  });
});

describe('csv for every spreadsheet locale', () => {
  it('quotes a cell holding a semicolon or a tab, the separators of other locales', () => {
    expect(csvCell('a;b')).toBe('"a;b"');
    expect(csvCell('a\tb')).toBe('"a\tb"');
  });

  it('defuses a formula that starts after a separator a spreadsheet may split on, by quoting the whole cell once', () => {
    expect(csvCell('agent;=1+1')).toBe('"\'agent;=1+1"');
    expect(csvCell('a,+1')).toBe('"\'a,+1"');
    expect(csvCell('a\t-1')).toBe('"\'a\t-1"');
    expect(csvCell('a\n@SUM(A1)')).toBe('"\'a\n@SUM(A1)"');
    expect(csvCell('a\r\n=1')).toBe('"\'a\r\n=1"');
    // Spaces and double quotes before the formula do not hide it (some readers trim or unquote a fragment).
    expect(csvCell('a; =1')).toBe('"\'a; =1"');
    expect(csvCell('a;"=1"')).toBe('"\'a;""=1"""');
    expect(csvCell(' =1')).toBe("' =1");
  });

  it('leaves a separator followed by ordinary text alone, apart from quoting', () => {
    expect(csvCell('Smith; John')).toBe('"Smith; John"');
    expect(csvCell('{"a":1,"b":"x"}')).toBe('"{""a"":1,""b"":""x""}"');
    expect(csvCell('a=1;b=2')).toBe('"a=1;b=2"');
    expect(csvCell('a,"quoted",\r\nnext line')).toBe('"a,""quoted"",\r\nnext line"');
  });
});
