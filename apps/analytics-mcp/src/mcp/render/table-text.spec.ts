import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toCsv, toMarkdown } from './table-text.js';

describe('toCsv (RFC 4180)', () => {
  it('writes a header row and CRLF after every record', () => {
    assert.equal(toCsv(['a', 'b'], [[1, 'x'], [2, 'y']]), 'a,b\r\n1,x\r\n2,y\r\n');
  });

  it('quotes fields holding commas, quotes, CR or LF, doubling the quotes', () => {
    const csv = toCsv(['v'], [['a,b'], ['say "hi"'], ['two\nlines'], ['cr\rhere'], ['plain']]);
    assert.equal(csv, 'v\r\n"a,b"\r\n"say ""hi"""\r\n"two\nlines"\r\n"cr\rhere"\r\nplain\r\n');
  });

  it('keeps NULL (empty field) apart from the empty string ("")', () => {
    assert.equal(toCsv(['a', 'b', 'c'], [[null, '', 'z']]), 'a,b,c\r\n,"",z\r\n');
  });

  it('writes json, arrays and booleans as text, quoting JSON that holds commas', () => {
    assert.equal(toCsv(['j', 'arr', 'b'], [[{ a: 1, b: 'x' }, [1, 2], true]]), 'j,arr,b\r\n"{""a"":1,""b"":""x""}","[1,2]",true\r\n');
  });

  it('quotes header names that need it', () => {
    assert.equal(toCsv(['a,b', 'c'], []), '"a,b",c\r\n');
  });
});

describe('toMarkdown', () => {
  it('writes a header, a delimiter row and one line per row', () => {
    assert.equal(toMarkdown(['a', 'b'], [[1, 'x']]), '| a | b |\n| --- | --- |\n| 1 | x |\n');
  });

  it('escapes pipes and backslashes and turns line breaks into <br>', () => {
    const md = toMarkdown(['v'], [['a|b'], ['c:\\dir'], ['one\ntwo\r\nthree\rfour']]);
    assert.equal(md, '| v |\n| --- |\n| a\\|b |\n| c:\\\\dir |\n| one<br>two<br>three<br>four |\n');
  });

  it('leaves NULL as an empty cell', () => {
    assert.equal(toMarkdown(['a', 'b'], [[null, 'x']]), '| a | b |\n| --- | --- |\n|  | x |\n');
  });

  it('escapes pipes in column names too', () => {
    assert.equal(toMarkdown(['a|b'], []), '| a\\|b |\n| --- |\n');
  });
});
