// SPDX-License-Identifier: Apache-2.0
/**
 * Shared setup for the EC2-compatible API tests (test/integration/api-*.test.ts) and bench/api.
 *
 * One server per test file: `startApiTestServer()` starts the in-process server on port 0 with a
 * fresh data directory under /tmp and returns helpers that drive it the three ways users do:
 * - `aws(...args)`: the real Debian AWS CLI (/usr/bin/aws, never the pyenv shim on PATH), with
 *   `--endpoint-url`, `--output json`, the server's credentials/config files and profile;
 * - `ec2`: an `@aws-sdk/client-ec2` client (no retries, so a 5xx is seen as such);
 * - `signed(...)` / `raw(...)`: hand-built HTTP requests, SigV4-signed with `@smithy/signature-v4`
 *   (or deliberately not), over a keep-alive agent, for protocol, auth and fuzz tests.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DescribeFlowLogsCommand,
  DescribeInstancesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeTrafficMirrorFilterRulesCommand,
  DescribeTrafficMirrorFiltersCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import { SignatureV4 } from '@smithy/signature-v4'
import { startServer } from '../../src/api/index.ts'
import { REPO_ROOT } from './shared.ts'

/** The Debian awscli (v2.9.19). The pyenv shim first on PATH is another CLI and must not be used. */
export const AWS_CLI = '/usr/bin/aws'
export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/'

/** Access key pair as the server stores it. */
export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
}

/** Result of one AWS CLI run; `json` is the parsed stdout when it is JSON. */
export interface CliResult {
  code: number
  stdout: string
  stderr: string
  json: unknown
}

/** Result of one raw HTTP exchange. */
export interface HttpResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** Options of a raw HTTP request. */
export interface RawRequest {
  method?: string
  path?: string
  headers?: Record<string, string | string[]>
  body?: string | Buffer
}

/** Options of a signed request: what to sign with, and when. */
export interface SignOptions {
  credentials?: Credentials
  region?: string
  service?: string
  date?: Date
  method?: 'POST' | 'GET'
  extraHeaders?: Record<string, string>
}

/** A running server and the ways to talk to it. */
export interface ApiTestServer {
  url: string
  port: number
  dataDir: string
  region: string
  accountId: string
  credentials: Credentials
  ec2: EC2Client
  /** Runs the real AWS CLI against the server; never throws on a non-zero exit. */
  aws: (...args: string[]) => Promise<CliResult>
  /** Runs `mirrorflow <args>` (the repo's CLI) with the server's credentials in the environment. */
  mirrorflow: (...args: string[]) => Promise<CliResult>
  /** Sends EC2 Query parameters as a SigV4-signed form POST (or GET query string). */
  signed: (params: Record<string, string> | string | Buffer, opts?: SignOptions) => Promise<HttpResult>
  /** Sends a request exactly as given (no signing). */
  raw: (req: RawRequest) => Promise<HttpResult>
  close: () => Promise<void>
}

/** Options of `startApiTestServer`. */
export interface StartOptions {
  region?: string
  accountId?: string
  prefix?: string
  /** Per-account quotas lowered so that a test can reach them (the server's `quotas` option). */
  quotas?: Partial<Record<'sessionsPerAccount' | 'targetsPerAccount' | 'filtersPerAccount', number>>
  /** The server's largest request body (bytes). */
  bodyLimit?: number
  /** The authorization step's clock (issue 13: expiring temporary credentials). */
  clock?: () => number
}

/** `crypto.createHash`/`createHmac` in the shape `@smithy/signature-v4` wants (a Checksum). */
export class NodeSha256 {
  private readonly secret: Buffer | undefined
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : toBuffer(secret)
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret)
  }
  update(data: Uint8Array): void {
    this.hash.update(data)
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()))
  }
  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret)
  }
}

function toBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8')
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
  return Buffer.from(d)
}

/** Encodes EC2 Query parameters as `application/x-www-form-urlencoded` (RFC 3986 escaping, as botocore). */
export function formEncode(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join('&')
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** A keep-alive HTTP client bound to one base URL. */
export function httpClient(
  baseUrl: string,
  maxSockets = 32,
): { request: (req: RawRequest) => Promise<HttpResult>; close: () => void } {
  const u = new URL(baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets })
  const request = (req: RawRequest): Promise<HttpResult> =>
    new Promise((resolve, reject) => {
      const r = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: req.method ?? 'POST',
          path: req.path ?? '/',
          headers: req.headers ?? {},
          agent,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          )
          res.on('error', reject)
        },
      )
      r.on('error', reject)
      if (req.body !== undefined) r.end(req.body)
      else r.end()
    })
  return { request, close: () => agent.destroy() }
}

/**
 * Builds the headers (and path) of a SigV4-signed EC2 request, the way botocore signs a form POST:
 * signed headers content-type;host;x-amz-date. For GET, the parameters go in the query string.
 */
export async function signRequest(
  baseUrl: string,
  params: Record<string, string> | string | Buffer,
  opts: SignOptions & { credentials: Credentials; region: string },
): Promise<{ method: string; path: string; headers: Record<string, string>; body?: string | Buffer }> {
  const u = new URL(baseUrl)
  const host = u.host
  const method = opts.method ?? 'POST'
  const body = typeof params === 'string' || Buffer.isBuffer(params) ? params : formEncode(params)
  const signer = new SignatureV4({
    credentials: opts.credentials,
    region: opts.region,
    service: opts.service ?? 'ec2',
    sha256: NodeSha256,
    uriEscapePath: true,
  })
  const query: Record<string, string | string[]> = {}
  if (method === 'GET') {
    for (const [k, v] of new URLSearchParams(body.toString())) {
      const prev = query[k]
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
    }
  }
  const headers: Record<string, string> = { host }
  if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8'
  Object.assign(headers, opts.extraHeaders ?? {})
  const signed = await signer.sign(
    {
      method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      query,
      headers,
      body: method === 'POST' ? body : undefined,
    },
    { signingDate: opts.date ?? new Date() },
  )
  const outHeaders: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers)) outHeaders[k] = String(v)
  if (method === 'POST') return { method, path: '/', headers: outHeaders, body }
  return { method, path: '/?' + body.toString(), headers: outHeaders }
}

/** Runs a process to completion, collecting its output. */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = REPO_ROOT,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.on('error', reject)
    p.on('close', (code) => {
      let json: unknown = undefined
      if (stdout.trim() !== '') {
        try {
          json = JSON.parse(stdout)
        } catch {
          json = undefined
        }
      }
      resolve({ code: code ?? -1, stdout, stderr, json })
    })
  })
}

/** The environment the AWS CLI gets: the server's files and profile, nothing from the caller's AWS setup. */
export function cliEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'),
    AWS_CONFIG_FILE: join(dataDir, 'config'),
    AWS_PROFILE: 'mirrorflow',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
  }
}

/** Starts one server in-process on port 0 with a temporary data directory. */
export async function startApiTestServer(opts: StartOptions = {}): Promise<ApiTestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `${opts.prefix ?? 'mf-api'}-`))
  const region = opts.region ?? 'us-east-1'
  const accountId = opts.accountId ?? '123456789012'
  const srv = await startServer({
    dataDir,
    port: 0,
    region,
    accountId,
    ...(opts.quotas ? { quotas: opts.quotas } : {}),
    ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
  })
  const url = srv.url.replace(/\/$/, '')
  const credentials = {
    accessKeyId: srv.credentials.accessKeyId,
    secretAccessKey: srv.credentials.secretAccessKey,
  }
  const ec2 = new EC2Client({ endpoint: url, region, credentials, maxAttempts: 1 })
  const client = httpClient(url)
  const env = cliEnv(dataDir)
  return {
    url,
    port: srv.port,
    dataDir,
    region,
    accountId,
    credentials,
    ec2,
    aws: (...args) => run(AWS_CLI, [...args, '--endpoint-url', url, '--output', 'json'], env),
    mirrorflow: (...args) => run(process.execPath, [join(REPO_ROOT, 'bin/mirrorflow.mjs'), ...args], env),
    signed: async (params, so = {}) => {
      const req = await signRequest(url, params, {
        ...so,
        credentials: so.credentials ?? credentials,
        region: so.region ?? region,
      })
      return client.request(req)
    },
    raw: (req) => client.request(req),
    close: async () => {
      try {
        ec2.destroy()
        client.close()
        await srv.close()
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
}

/** One XML element of a parsed response. */
export interface XmlElement {
  name: string
  attrs: Record<string, string>
  children: XmlElement[]
  text: string
}

/**
 * A strict, small XML parser for responses: one root element, balanced tags, known entities only,
 * optional `<?xml …?>` declaration. Throws on anything that is not well-formed.
 */
export function parseXml(src: string): XmlElement {
  let i = 0
  const fail = (why: string): never => {
    throw new Error(
      `malformed XML at ${i}: ${why}: ${JSON.stringify(src.slice(Math.max(0, i - 20), i + 40))}`,
    )
  }
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i])) i++
  }
  const decode = (s: string): string =>
    s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos|[^;]*);?/g, (m, e: string) => {
      if (!m.endsWith(';')) fail(`bad entity ${m}`)
      if (e === 'amp') return '&'
      if (e === 'lt') return '<'
      if (e === 'gt') return '>'
      if (e === 'quot') return '"'
      if (e === 'apos') return "'"
      if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16))
      if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10))
      return fail(`unknown entity ${m}`)
    })
  const name = (): string => {
    const m = /^[A-Za-z_][\w.:-]*/.exec(src.slice(i, i + 200))
    if (!m) fail('expected a name')
    i += m![0].length
    return m![0]
  }
  const element = (): XmlElement => {
    if (src[i] !== '<') fail('expected <')
    i++
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' }
    for (;;) {
      ws()
      if (src.startsWith('/>', i)) {
        i += 2
        return el
      }
      if (src[i] === '>') {
        i++
        break
      }
      const an = name()
      ws()
      if (src[i] !== '=') fail('expected =')
      i++
      ws()
      const q = src[i]
      if (q !== '"' && q !== "'") fail('expected quote')
      const end = src.indexOf(q, i + 1)
      if (end < 0) fail('unterminated attribute')
      el.attrs[an] = decode(src.slice(i + 1, end))
      i = end + 1
    }
    let text = ''
    for (;;) {
      if (i >= src.length) fail(`unterminated <${el.name}>`)
      if (src.startsWith('</', i)) {
        i += 2
        const close = name()
        if (close !== el.name) fail(`</${close}> closes <${el.name}>`)
        ws()
        if (src[i] !== '>') fail('expected >')
        i++
        el.text = decode(text)
        return el
      }
      if (src[i] === '<') {
        el.children.push(element())
        continue
      }
      const next = src.indexOf('<', i)
      if (next < 0) fail('text runs to the end')
      const t = src.slice(i, next)
      if (t.includes('>') && /\]\]>/.test(t)) fail('stray ]]>')
      text += t
      i = next
    }
  }
  ws()
  if (src.startsWith('<?xml', i)) {
    const end = src.indexOf('?>', i)
    if (end < 0) fail('unterminated declaration')
    i = end + 2
  }
  ws()
  const root = element()
  ws()
  if (i !== src.length) fail('content after the root element')
  return root
}

/** The first child named `name`, or undefined. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name)
}

/** The parsed EC2 error of a response body, checking the envelope of spec-traffic-mirroring §5.7. */
export function parseEc2Error(body: string): { code: string; message: string; requestId: string } {
  const root = parseXml(body)
  if (root.name !== 'Response') throw new Error(`error root is <${root.name}>, want <Response>`)
  const errors = child(root, 'Errors')
  const error = errors && child(errors, 'Error')
  const code = error && child(error, 'Code')
  const message = error && child(error, 'Message')
  const rid = child(root, 'RequestID')
  if (!code || !message || !rid) throw new Error(`incomplete EC2 error envelope: ${body.slice(0, 300)}`)
  if (code.text === '') throw new Error('empty <Code>')
  return { code: code.text, message: message.text, requestId: rid.text }
}

/** The error name and HTTP status of an SDK rejection. */
export async function sdkError(
  p: Promise<unknown>,
): Promise<{ code: string; status: number | undefined; message: string }> {
  try {
    await p
  } catch (err) {
    const e = err as {
      name?: string
      Code?: string
      message?: string
      $metadata?: { httpStatusCode?: number }
    }
    return {
      code: e.Code ?? e.name ?? 'unknown',
      status: e.$metadata?.httpStatusCode,
      message: e.message ?? '',
    }
  }
  throw new Error('expected the request to fail, it succeeded')
}

/** A small seeded PRNG (mulberry32): same seed, same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Matches an id with an AWS prefix and 17 lowercase hex digits (ARCHITECTURE.md, spec §1.1). */
export function idPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}-[0-9a-f]{17}$`)
}

/** A network interface as `describe-network-interfaces` prints it (the fields the tests use). */
export interface EniJson {
  NetworkInterfaceId: string
  SubnetId?: string
  VpcId?: string
  PrivateIpAddress?: string
  MacAddress?: string
  Description?: string
  Attachment?: { InstanceId?: string }
  [k: string]: unknown
}

/** Options of `registerInterface`, one to one with `mirrorflow admin register-interface`. */
export interface RegisterOptions {
  subnetId: string
  privateIp: string
  mac?: string
  instanceId?: string
  description?: string
}

/**
 * Registers a network interface through the admin command (the way operators do until agents
 * register them) and returns it. The command prints the interface in the describe-network-interfaces shape.
 */
export async function registerInterface(srv: ApiTestServer, o: RegisterOptions): Promise<EniJson> {
  const args = ['admin', 'register-interface', '--subnet-id', o.subnetId, '--private-ip-address', o.privateIp]
  if (o.mac !== undefined) args.push('--mac-address', o.mac)
  if (o.instanceId !== undefined) args.push('--instance-id', o.instanceId)
  if (o.description !== undefined) args.push('--description', o.description)
  args.push('--endpoint-url', srv.url)
  const r = await srv.mirrorflow(...args)
  if (r.code !== 0) throw new Error(`register-interface failed (${r.code}): ${r.stderr}${r.stdout}`)
  const j = r.json as { NetworkInterface?: EniJson; NetworkInterfaces?: EniJson[] } & EniJson
  const eni = j.NetworkInterface ?? j.NetworkInterfaces?.[0] ?? j
  if (typeof eni.NetworkInterfaceId !== 'string') throw new Error(`register-interface printed ${r.stdout}`)
  return eni
}

/** Every Describe action called once without arguments, in parallel: the raw SDK outputs by kind. */
export async function describeAll(ec2: EC2Client) {
  const [vpcs, subnets, enis, instances, targets, filters, rules, sessions, flowLogs, tags] =
    await Promise.all([
      ec2.send(new DescribeVpcsCommand({})),
      ec2.send(new DescribeSubnetsCommand({})),
      ec2.send(new DescribeNetworkInterfacesCommand({})),
      ec2.send(new DescribeInstancesCommand({})),
      ec2.send(new DescribeTrafficMirrorTargetsCommand({})),
      ec2.send(new DescribeTrafficMirrorFiltersCommand({})),
      ec2.send(new DescribeTrafficMirrorFilterRulesCommand({})),
      ec2.send(new DescribeTrafficMirrorSessionsCommand({})),
      ec2.send(new DescribeFlowLogsCommand({})),
      ec2.send(new DescribeTagsCommand({})),
    ])
  const [securityGroups, securityGroupRules, networkAcls, prefixLists] = await Promise.all([
    ec2.send(new DescribeSecurityGroupsCommand({})),
    ec2.send(new DescribeSecurityGroupRulesCommand({})),
    ec2.send(new DescribeNetworkAclsCommand({})),
    ec2.send(new DescribeManagedPrefixListsCommand({})),
  ])
  return {
    vpcs,
    subnets,
    enis,
    instances,
    targets,
    filters,
    rules,
    sessions,
    flowLogs,
    tags,
    securityGroups,
    securityGroupRules,
    networkAcls,
    prefixLists,
  }
}

/**
 * Everything the API can show, as plain data (request ids and metadata dropped): used to prove that
 * a rejected request changed nothing. Lists are sorted by id so the comparison ignores order.
 */
export async function snapshot(ec2: EC2Client): Promise<Record<string, unknown>> {
  const byId = <T>(xs: T[] | undefined, key: keyof T): T[] =>
    [...(xs ?? [])].sort((a, b) => String(a[key]).localeCompare(String(b[key])))
  const {
    vpcs,
    subnets,
    enis,
    instances,
    targets,
    filters,
    sessions,
    flowLogs,
    tags,
    securityGroups,
    securityGroupRules,
    networkAcls,
    prefixLists,
  } = await describeAll(ec2)
  return {
    vpcs: byId(vpcs.Vpcs, 'VpcId'),
    subnets: byId(subnets.Subnets, 'SubnetId'),
    enis: byId(enis.NetworkInterfaces, 'NetworkInterfaceId'),
    instances: byId(
      (instances.Reservations ?? []).flatMap((r) => r.Instances ?? []),
      'InstanceId',
    ),
    targets: byId(targets.TrafficMirrorTargets, 'TrafficMirrorTargetId'),
    filters: byId(filters.TrafficMirrorFilters, 'TrafficMirrorFilterId'),
    sessions: byId(sessions.TrafficMirrorSessions, 'TrafficMirrorSessionId'),
    flowLogs: byId(flowLogs.FlowLogs, 'FlowLogId'),
    securityGroups: byId(securityGroups.SecurityGroups, 'GroupId'),
    securityGroupRules: byId(securityGroupRules.SecurityGroupRules, 'SecurityGroupRuleId'),
    networkAcls: byId(networkAcls.NetworkAcls, 'NetworkAclId'),
    prefixLists: byId(prefixLists.PrefixLists, 'PrefixListId'),
    tags: [...(tags.Tags ?? [])].sort((a, b) =>
      `${a.ResourceId}/${a.Key}`.localeCompare(`${b.ResourceId}/${b.Key}`),
    ),
  }
}

/** Reads the `mirrorflow` profile of DIR/credentials (the AWS CLI's INI format). */
export function readCredentials(dataDir: string, profile = 'mirrorflow'): Credentials {
  let section = ''
  const out: Record<string, string> = {}
  for (const line of readFileSync(join(dataDir, 'credentials'), 'utf8').split(/\r?\n/)) {
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line)
    if (sec) {
      section = sec[1].trim()
      continue
    }
    const kv = /^\s*([\w-]+)\s*=\s*(.*?)\s*$/.exec(line)
    if (kv && section === profile) out[kv[1]] = kv[2]
  }
  if (!out.aws_access_key_id || !out.aws_secret_access_key)
    throw new Error(`no [${profile}] keys in ${dataDir}/credentials`)
  return { accessKeyId: out.aws_access_key_id, secretAccessKey: out.aws_secret_access_key }
}

/** A server running as a child process (`node bin/mirrorflow.mjs server …`). */
export interface ChildServer {
  proc: ChildProcess
  url: string
  port: number
  /** Everything the process wrote to stdout and stderr so far. */
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | string>
}

/**
 * Spawns `mirrorflow server --data-dir DIR --port 0` and waits for its
 * `mirrorflow server listening on http://HOST:PORT` line (the server's contract). `entry` is the
 * script run: the sources through tsx by default, `dist/mirrorflow.mjs` for the compiled command.
 */
export function spawnServer(
  dataDir: string,
  extra: string[] = [],
  timeoutMs = 60_000,
  entry = 'bin/mirrorflow.mjs',
): Promise<ChildServer> {
  const proc = spawn(
    process.execPath,
    [join(REPO_ROOT, entry), 'server', '--data-dir', dataDir, '--port', '0', ...extra],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve(signal ?? code ?? -1)),
  )
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`server did not report listening within ${timeoutMs} ms: ${out}${err}`))
    }, timeoutMs)
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /mirrorflow server listening on (http:\/\/[^\s:]+:(\d+))/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ proc, url: m[1], port: Number(m[2]), stdout: () => out, stderr: () => err, exited })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code}) before listening: ${out}${err}`))
    })
  })
}

/**
 * Registers a network interface through the server's admin API action (the request
 * `mirrorflow admin register-interface` sends), without a process start: for tests that need many.
 */
export async function registerInterfaceApi(srv: ApiTestServer, o: RegisterOptions): Promise<EniJson> {
  const p: Record<string, string> = {
    Action: 'MirrorflowRegisterNetworkInterface',
    Version: '2016-11-15',
    SubnetId: o.subnetId,
    PrivateIpAddress: o.privateIp,
  }
  if (o.mac !== undefined) p.MacAddress = o.mac
  if (o.instanceId !== undefined) p.InstanceId = o.instanceId
  if (o.description !== undefined) p.Description = o.description
  const r = await srv.signed(p)
  if (r.status !== 200)
    throw new Error(`MirrorflowRegisterNetworkInterface → ${r.status}: ${r.body.slice(0, 300)}`)
  return (JSON.parse(r.body) as { NetworkInterface: EniJson }).NetworkInterface
}
