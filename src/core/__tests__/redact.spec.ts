import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { summarizeOutputs, TEXT_LIMIT } from '../outputs';
import { cutHead, Redactor, marker } from '../redact';

const ROOT = path.resolve(__dirname, '../../..');
const PYTHON = [process.env.NBPROV_PYTHON, path.join(ROOT, '.venv/bin/python')].find(p => p && fs.existsSync(p)) ?? 'python3';

const GHP = 'ghp_' + 'A1b2'.repeat(9);
const PAT = 'github_pat_' + '11ABCDEFG0'.repeat(3) + '_xyz';
const GLPAT = 'glpat-' + 'x-Y_z'.repeat(4);
const HF = 'hf_' + 'abcdEFGH'.repeat(4) + 'zz';
const SK = 'sk-proj-' + 'Q'.repeat(24);
const AWS = 'AKIA' + 'ABCDEFGHIJ234567';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIEow+/=\nAAAA\n-----END RSA PRIVATE KEY-----';

// The same inputs go through the Python twin below: every case here is a parity case too.
const CASES: [string, string, number][] = [
  [`print("${GHP}")`, `print("${marker('github_token')}")`, 1],
  [`x ${PAT} y`, `x ${marker('github_pat')} y`, 1],
  [`https://gitlab.example/api?private_token=${GLPAT}`, `https://gitlab.example/api?private_token=${marker('gitlab_token')}`, 1],
  [HF, marker('huggingface_token'), 1],
  [`key: ${SK}!`, `key: ${marker('secret_key')}!`, 1],
  [`id=${AWS}.`, `id=${marker('aws_access_key')}.`, 1],
  [`before\n${PEM}\nafter`, `before\n${marker('private_key')}\nafter`, 1],
  ['password=hunter2', `password=${marker('assignment')}`, 1],
  ['DB_PASSWORD: s3cr3t\n', `DB_PASSWORD: ${marker('assignment')}\n`, 1],
  ['{"api_key": "abc def"}', `{"api_key": "${marker('assignment')}"}`, 1],
  ["Token = 'xyz'", `Token = '${marker('assignment')}'`, 1],
  [`TOKEN = '${GHP}'`, `TOKEN = '${marker('github_token')}'`, 1],
  // near misses: too short, wrong prefix, code that names a token without holding one
  ['ghp_short gho_ ghx_' + 'a'.repeat(40), 'ghp_short gho_ ghx_' + 'a'.repeat(40), 0],
  ['AKIA1234 akia' + 'ABCDEFGHIJ234567', 'AKIA1234 akia' + 'ABCDEFGHIJ234567', 0],
  ['token = os.environ["HF_TOKEN"]; tokenizer=3; max_tokens=5', 'token = os.environ["HF_TOKEN"]; tokenizer=3; max_tokens=5', 0],
  ['sk-learn hf_hub -----BEGIN PUBLIC KEY-----', 'sk-learn hf_hub -----BEGIN PUBLIC KEY-----', 0],
  ['password == other', 'password == other', 0],
  // already redacted text stays as it is
  [`password=${marker('assignment')} ${marker('github_token')}`, `password=${marker('assignment')} ${marker('github_token')}`, 0],
  ['ünïcødé ' + GHP + ' 😀', 'ünïcødé ' + marker('github_token') + ' 😀', 1]
];

describe('the default patterns', () => {
  const redactor = new Redactor();
  it.each(CASES)('redacts %j', (input, expected, count) => {
    expect(redactor.redact(input)).toEqual([expected, count]);
    expect(redactor.redact(expected)).toEqual([expected, 0]); // twice changes nothing
  });

  it('stays fast on large and adversarial inputs (1 MiB each)', () => {
    const inputs = [
      'epoch 3 loss 0.1234 accuracy 0.98\n'.repeat(32000),
      'a'.repeat(MIB),
      '-----BEGIN PRIVATE KEY-----'.repeat(MIB / 27),
      'token='.repeat(MIB / 6),
      'ghp_' + 'a'.repeat(MIB)
    ];
    for (const input of inputs) {
      const started = Date.now();
      redactor.redact(input);
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it('redacts strings inside records, not keys, numbers or typed arrays', () => {
    const record = { type: 'x', [GHP]: 1, list: [`a ${HF}`, 2], nested: { password: 'password=pw' }, buf: new Uint8Array(2) };
    const [redacted, count] = redactor.redactValue(record);
    expect(count).toBe(2);
    expect(redacted).toEqual({
      type: 'x',
      [GHP]: 1,
      list: [`a ${marker('huggingface_token')}`, 2],
      nested: { password: `password=${marker('assignment')}` },
      buf: new Uint8Array(2)
    });
    const untouched = { a: 'nothing here' };
    expect(redactor.redactValue(untouched)[0]).toBe(untouched);
  });
});

const MIB = 1 << 20;

describe('extra patterns', () => {
  it('adds valid ones and reports invalid or slow ones, keeping the defaults', () => {
    const problems: string[] = [];
    const redactor = new Redactor(
      [
        { kind: 'internal', pattern: 'ACME-[0-9]{6}' },
        { kind: 'broken', pattern: '(unclosed' },
        { kind: 'explosive', pattern: '(a+)+b' },
        { kind: 'bad kind!', pattern: 'x' },
        'not an object'
      ],
      message => problems.push(message)
    );
    expect(redactor.redact(`ACME-123456 ${GHP}`)).toEqual([`${marker('internal')} ${marker('github_token')}`, 2]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/"broken" is not a valid regular expression/);
    expect(problems[1]).toMatch(/"explosive" is too slow/);
    expect(problems.join('\n')).toMatch(/default patterns stay in use/);
  });
});

describe('parity with nbprov/redact.py', () => {
  it('gives the same text and count for the same inputs', () => {
    const extra = [
      { kind: 'internal', pattern: 'ACME-([0-9]{6})' },
      { kind: 'ci', pattern: 'secretword', flags: 'i' }
    ];
    let seed = 7;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const pieces = [
      GHP,
      PAT,
      GLPAT,
      HF,
      SK,
      AWS,
      PEM,
      'password=',
      'token: ',
      '"',
      "'",
      ' ',
      '\n',
      'ACME-123456',
      'SecretWord',
      'ſecretword',
      'K',
      'é',
      '😀',
      'İ',
      'x',
      '=',
      ':',
      '-----BEGIN',
      'ghp_',
      'hf_',
      '[redacted:x]'
    ];
    const inputs = [...CASES.map(c => c[0])];
    for (let i = 0; i < 300; i++) {
      inputs.push(Array.from({ length: 1 + random(12) }, () => pieces[random(pieces.length)]).join(''));
    }
    const redactor = new Redactor(extra);
    const ours = inputs.map(input => redactor.redact(input));
    const script =
      'import json, sys\nfrom nbprov.redact import Redactor\n' +
      'data = json.load(sys.stdin)\nr = Redactor(data["extra"])\n' +
      'json.dump([list(r.redact(t)) for t in data["inputs"]], sys.stdout)\n';
    const theirs = JSON.parse(
      execFileSync(PYTHON, ['-c', script], { cwd: ROOT, input: JSON.stringify({ extra, inputs }), encoding: 'utf-8' })
    );
    expect(theirs).toEqual(ours);
  });
});

describe('outputs are redacted in full, then truncated at a space', () => {
  it('keeps no half token at the truncation limit, and counts the redactions', () => {
    for (let offset = 0; offset < 40; offset += 3) {
      const text = 'x'.repeat(TEXT_LIMIT - 10 - offset) + ' ' + GHP + ' tail'.repeat(10);
      // The cut never ends inside the token (a whole token is then redacted, a half one would not be).
      const head = cutHead(text, TEXT_LIMIT);
      expect(/ghp_[A-Za-z0-9]*$/.test(head) && !head.endsWith(GHP)).toBe(false);
      const { items, redacted } = summarizeOutputs([{ output_type: 'stream', name: 'stdout', text }], new Redactor());
      expect(items[0].text).not.toContain(GHP.slice(4, 14));
      expect(items[0].truncated).toBe(true);
      expect(redacted).toBe(1);
    }
  });
});
