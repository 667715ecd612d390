// SPDX-License-Identifier: Apache-2.0
/**
 * The finding types the engine makes: GuardDuty's names and default severities where GuardDuty has
 * the type, and one mirrorflow type (marked `.Mirrorflow`) for a port scan *against* an instance by a
 * host that is on no threat list, which GuardDuty does not report.
 * @module
 */

export const FindingTypes = {
  Portscan: 'Recon:EC2/Portscan',
  PortSweep: 'Impact:EC2/PortSweep',
  SSHBruteForce: 'UnauthorizedAccess:EC2/SSHBruteForce',
  RDPBruteForce: 'UnauthorizedAccess:EC2/RDPBruteForce',
  DosTcp: 'Backdoor:EC2/DenialOfService.Tcp',
  DosUdp: 'Backdoor:EC2/DenialOfService.Udp',
  DosDns: 'Backdoor:EC2/DenialOfService.Dns',
  DosUdpOnTcpPorts: 'Backdoor:EC2/DenialOfService.UdpOnTcpPorts',
  DosUnusualProtocol: 'Backdoor:EC2/DenialOfService.UnusualProtocol',
  Spambot: 'Backdoor:EC2/Spambot',
  NetworkPortUnusual: 'Behavior:EC2/NetworkPortUnusual',
  TrafficVolumeUnusual: 'Behavior:EC2/TrafficVolumeUnusual',
  MaliciousIPCallerCustom: 'UnauthorizedAccess:EC2/MaliciousIPCaller.Custom',
  BlackholeTraffic: 'Trojan:EC2/BlackholeTraffic',
  PortProbeUnprotectedPort: 'Recon:EC2/PortProbeUnprotectedPort',
  InboundPortscan: 'Recon:EC2/InboundPortscan.Mirrorflow',
} as const

export type FindingTypeName = (typeof FindingTypes)[keyof typeof FindingTypes]

/** GuardDuty's severity values: Low 2, Medium 5, High 8. */
export const Severity = { Low: 2, Medium: 5, High: 8 } as const

/** Default severity of each type (brute force: as actor; as target it is Low). */
export const SEVERITY: Record<FindingTypeName, number> = {
  'Recon:EC2/Portscan': Severity.Medium,
  'Impact:EC2/PortSweep': Severity.High,
  'UnauthorizedAccess:EC2/SSHBruteForce': Severity.High,
  'UnauthorizedAccess:EC2/RDPBruteForce': Severity.High,
  'Backdoor:EC2/DenialOfService.Tcp': Severity.High,
  'Backdoor:EC2/DenialOfService.Udp': Severity.High,
  'Backdoor:EC2/DenialOfService.Dns': Severity.High,
  'Backdoor:EC2/DenialOfService.UdpOnTcpPorts': Severity.High,
  'Backdoor:EC2/DenialOfService.UnusualProtocol': Severity.High,
  'Backdoor:EC2/Spambot': Severity.Medium,
  'Behavior:EC2/NetworkPortUnusual': Severity.Medium,
  'Behavior:EC2/TrafficVolumeUnusual': Severity.Medium,
  'UnauthorizedAccess:EC2/MaliciousIPCaller.Custom': Severity.Medium,
  'Trojan:EC2/BlackholeTraffic': Severity.Medium,
  'Recon:EC2/PortProbeUnprotectedPort': Severity.Low,
  'Recon:EC2/InboundPortscan.Mirrorflow': Severity.Low,
}

/** The severity label of a value, as GuardDuty's console groups them. */
export function severityLabel(s: number): 'Low' | 'Medium' | 'High' | 'Critical' {
  return s >= 9 ? 'Critical' : s >= 7 ? 'High' : s >= 4 ? 'Medium' : 'Low'
}

const PORT_NAMES: Record<number, string> = {
  21: 'FTP',
  22: 'SSH',
  23: 'Telnet',
  25: 'SMTP',
  53: 'DNS',
  80: 'HTTP',
  110: 'POP3',
  123: 'NTP',
  143: 'IMAP',
  443: 'HTTPS',
  445: 'SMB',
  465: 'SMTPS',
  587: 'SMTP',
  993: 'IMAPS',
  995: 'POP3S',
  1433: 'MSSQL',
  3306: 'MYSQL',
  3389: 'RDP',
  5432: 'POSTGRESQL',
  6379: 'REDIS',
  8080: 'HTTP',
  9200: 'ELASTICSEARCH',
}

/** GuardDuty's `PortName` of a port (`Unknown` for the rest). */
export function portName(port: number): string {
  return PORT_NAMES[port] ?? 'Unknown'
}

/** GuardDuty's `Protocol` of an IANA protocol number. */
export function protocolName(p: number): string {
  return p === 6 ? 'TCP' : p === 17 ? 'UDP' : p === 1 ? 'ICMP' : p === 58 ? 'ICMPV6' : `PROTO_${p}`
}

/** Ports of TCP services: UDP floods aimed at them are `DenialOfService.UdpOnTcpPorts`. */
export const TCP_SERVICE_PORTS: ReadonlySet<number> = new Set([
  21, 22, 23, 25, 80, 110, 143, 443, 445, 465, 587, 993, 995, 1433, 3306, 3389, 5432, 6379, 8080, 8443,
])
