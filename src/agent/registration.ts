// SPDX-License-Identifier: Apache-2.0
/**
 * Registration: the instance id kept in `DATA_DIR/agent-state.json`, the host's inventory and its
 * registration with the server (again whenever the interfaces change), and the retirement of
 * registered interfaces that vanished from the host.
 * @module
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { DEFAULT_NFT_NAMING } from '../mirror/index.ts'
import type { ServerClient } from './client.ts'
import type { DesiredState } from './desired.ts'
import { AgentStateError } from './errors.ts'
import { inventoryKey, readInventory, readLinkNames, type HostInterface } from './inventory.ts'

/** Instance ids as the server makes them (AWS's `i-` + 8 or 17 hex digits). */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/
/** A state file larger than this is not ours. */
const MAX_STATE_BYTES = 64 * 1024

/**
 * The instance id saved in the state file: null when there is no file (a first start). A file that
 * exists but cannot be read, is not JSON, or holds no valid instance id throws `AgentStateError`
 * (`MF_AGENT_STATE`): registering a new instance over it would orphan the old one.
 */
export function readAgentState(path: string): string | null {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new AgentStateError(`cannot read ${path}: ${(err as Error).message}`, path, { cause: err })
  }
  const fix = `fix or remove it, or pass --instance-id`
  if (text.length > MAX_STATE_BYTES)
    throw new AgentStateError(`${path} is too large to be ours; ${fix}`, path)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new AgentStateError(`${path} is not valid JSON (${(err as Error).message}); ${fix}`, path, {
      cause: err,
    })
  }
  const id = (doc as { instanceId?: unknown } | null)?.instanceId
  if (typeof id !== 'string' || !INSTANCE_ID.test(id))
    throw new AgentStateError(`${path} holds no valid instanceId; ${fix}`, path)
  return id
}

/** Saves the instance id (write a temporary file, then rename: never half a file). */
export function writeAgentState(path: string, instanceId: string, hostname: string): void {
  const tmp = `${path}.tmp`
  writeFileSync(tmp, JSON.stringify({ instanceId, hostname }, null, 2) + '\n')
  renameSync(tmp, path)
}

/** The host's registration with the server. */
export class Registrar {
  instanceId: string | null
  inventory: HostInterface[] = []
  /** Linux name → registered interface id. */
  eniByIfname = new Map<string, string>()
  #invKey = ''
  readonly #client: ServerClient
  readonly #hostname: string
  readonly #stateFile: string
  /** Inventory checks in a row at which a registered interface was missing. */
  readonly #missing = new Map<string, number>()

  constructor(client: ServerClient, hostname: string, stateFile: string, instanceId: string | null) {
    this.#client = client
    this.#hostname = hostname
    this.#stateFile = stateFile
    this.instanceId = instanceId
  }

  /**
   * Reads the interfaces and registers when they changed since the last registration (always when
   * `force`). Returns whether it registered.
   */
  async refresh(force: boolean): Promise<boolean> {
    const inv = await readInventory([DEFAULT_NFT_NAMING.devicePrefix])
    const key = inventoryKey(inv)
    if (!force && key === this.#invKey) return false
    const reg = await this.#client.register(this.#hostname, this.instanceId ?? undefined, inv)
    this.inventory = inv
    this.#invKey = key
    this.instanceId = reg.instanceId
    this.eniByIfname = new Map(reg.interfaces.map((i) => [i.deviceName, i.networkInterfaceId]))
    writeAgentState(this.#stateFile, reg.instanceId, this.#hostname)
    return true
  }

  /**
   * Interfaces come and go: an ENI this agent registered (it has a device name) whose Linux
   * interface no longer exists, at two inventory checks in a row (so a brief rename or re-creation
   * does not cost its sessions), is deregistered — its sessions and flow logs go with it, as when
   * AWS deletes an ENI. An interface that only lost its address is kept. Throws the first failure
   * after trying every interface.
   */
  async retireVanished(state: DesiredState | null): Promise<void> {
    if (state === null) return
    const links = await readLinkNames()
    let failure: unknown = null
    for (const eni of state.interfaces) {
      const id = eni.networkInterfaceId
      if (eni.deviceName === null || links.has(eni.deviceName)) {
        this.#missing.delete(id)
        continue
      }
      const n = (this.#missing.get(id) ?? 0) + 1
      this.#missing.set(id, n)
      if (n < 2) continue
      try {
        await this.#client.deregisterInterface(id)
        this.#missing.delete(id)
      } catch (err) {
        failure ??= err
      }
    }
    if (failure !== null) throw failure
  }
}
