import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lex, type Token } from '../../src/config/lexer.js';

const brief = (tokens: readonly Token[]) => tokens.map((t) => `${t.kind}:${t.text}@${t.line}:${t.column}`);

test('lexer: punctuation, words and strings with 1-based positions', () => {
  const { tokens, errors } = lex('pipe_transport "demo" {\n  code = [ 100 = "550 x" ]\n  d = ( a )\n}\n');
  assert.deepEqual(errors, []);
  assert.deepEqual(brief(tokens), [
    'word:pipe_transport@1:1', 'string:demo@1:16', '{:{@1:23',
    'word:code@2:3', '=:=@2:8', '[:[@2:10', 'word:100@2:12', '=:=@2:16', 'string:550 x@2:18', ']:]@2:26',
    'word:d@3:3', '=:=@3:5', '(:(@3:7', 'word:a@3:9', '):)@3:11',
    '}:}@4:1', 'eof:@5:1',
  ]);
});

test('lexer: bare words keep paths, CIDRs, octal, wildcards and ports whole', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.0/8', '127.0.0.0/8'],
    ['0640', '0640'],
    ['*.example.com', '*.example.com'],
    ['/bin/cat', '/bin/cat'],
    [':25', ':25'],
    ['[::1]:25', '['], // brackets are punctuation: IPv6 listen addresses must be quoted
    ['a\\b', 'a\\b'],
    ['x/*c*/', 'x'], // "/*" opens a comment even inside a bare word
    ['a#b', 'a'],
    ['a"b"', 'a'],
  ];
  for (const [input, first] of cases) {
    const { tokens } = lex(input);
    assert.equal(tokens[0]?.text, first, input);
  }
});

test('lexer: string escapes \\" \\\\ \\n \\t; unknown escapes keep the backslash', () => {
  const { tokens, errors } = lex(String.raw`"a \"b\" c\\d\ne\tf\.g"`);
  assert.deepEqual(errors, []);
  assert.equal(tokens[0]?.text, 'a "b" c\\d\ne\tf\\.g');
  assert.equal(tokens[0]?.kind, 'string');
});

test('lexer: # and /* */ comments are skipped, and lines are still counted', () => {
  const text = [
    '# a comment { with = punctuation }',
    'a = 1 # trailing',
    '/* block',
    '   over lines */ b = "# not a comment"',
    'c /* inline */ = 2',
  ].join('\n');
  const { tokens, errors } = lex(text);
  assert.deepEqual(errors, []);
  assert.deepEqual(brief(tokens), [
    'word:a@2:1', '=:=@2:3', 'word:1@2:5',
    'word:b@4:18', '=:=@4:20', 'string:# not a comment@4:22',
    'word:c@5:1', '=:=@5:16', 'word:2@5:18',
    'eof:@5:19',
  ]);
});

test('lexer: block comments do not nest', () => {
  const { tokens } = lex('/* a /* b */ c */');
  assert.deepEqual(brief(tokens), ['word:c@1:14', 'word:*/@1:16', 'eof:@1:18']);
});

test('lexer: CRLF line endings and a BOM are whitespace', () => {
  const { tokens, errors } = lex('\uFEFFa = 1\r\nb = 2\r\n');
  assert.deepEqual(errors, []);
  assert.deepEqual(brief(tokens).slice(3, 4), ['word:b@2:1']);
});

test('lexer: errors carry the position of what was left open', () => {
  const cases: Array<[string, string]> = [
    ['a = "open\nb = 2', '1:5 unterminated string'],
    ['a = 1\n  x = "never closed', '2:7 unterminated string'],
    ['a = 1\n  /* never closed\n b = 2', '2:3 unterminated "/*" comment'],
  ];
  for (const [input, expected] of cases) {
    const { errors } = lex(input);
    assert.equal(errors.length, 1, input);
    const [e] = errors;
    assert.ok(e !== undefined);
    assert.ok(`${e.line}:${e.column} ${e.message}`.startsWith(expected), `${input}: ${e.message}`);
  }
});

test('lexer: an unterminated string ends at its line, so the next line still lexes', () => {
  const { tokens } = lex('a = "open\nb = 2');
  assert.deepEqual(brief(tokens).slice(2), ['string:open@1:5', 'word:b@2:1', '=:=@2:3', 'word:2@2:5', 'eof:@2:6']);
});
