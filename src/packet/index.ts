// SPDX-License-Identifier: Apache-2.0
/**
 * The packet layer: capture readers and writer, the zero-copy frame decoder, header encoders, and
 * addresses and CIDR blocks (the only implementation in mirrorflow: every other domain imports them here). Other domains import only this file.
 * @module
 */
export { PacketMeta } from './packet-meta.ts'
export type { FrameBatch } from './frame-batch.ts'
export { newFrameBatch } from './frame-batch.ts'
export { LinkType } from './link-type.ts'
export { Malformed, MALFORMED_NAMES } from './malformed.ts'
export * from './constants.ts'
export { decodeFrame } from './decode.ts'
export { readCapture, MAX_RECORD_BYTES, MAX_TIMESTAMP_SEC } from './reader.ts'
export type { CaptureReadStats, ReadCaptureOptions } from './reader.ts'
export { PcapWriter } from './writer.ts'
export type { PcapWriterOptions } from './writer.ts'
export {
  encodeEthernet,
  encodeIPv4,
  encodeIPv6,
  encodeUDP,
  encodeVXLAN,
  ipv4HeaderChecksum,
  udpChecksumIPv4,
  udpChecksumIPv6,
} from './encode.ts'
export {
  addressWords,
  formatAddress,
  formatIPv4,
  formatIPv6,
  formatIPv6Words,
  formatMAC,
  MAX_ADDRESS_TEXT,
  parseAddress,
  parseAddressWords,
  parseIPv4,
  parseIPv6,
  parseMAC,
  type IpAddress,
} from './addr.ts'
export {
  cidr4Contains,
  cidr6Contains,
  cidrContains,
  cidrOverlaps,
  cidrSize,
  cidrWithin,
  parseCidr,
  tryParseCidr,
  type Cidr,
  type ParseCidrOptions,
} from './cidr.ts'
export { CaptureFormatError } from './errors.ts'
export { CaptureSummary, linkTypeName } from './summary.ts'
export type { CaptureSummaryJson, FlowCount } from './summary.ts'
