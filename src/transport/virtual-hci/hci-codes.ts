/**
 * HCI numbers the virtual controller speaks (Bluetooth Core spec v5.3, Vol 4 Part E): packet
 * indicators of the UART transport (Vol 4 Part A §2), command opcodes (OGF << 10 | OCF, §7),
 * event codes (§7.7), LE meta subevents (§7.7.65), error codes (Vol 1 Part F §1.3) and the legacy
 * advertising PDU types that LE Advertising Reports carry (§7.7.65.2). Only what the virtual
 * controller answers or emits is here, each next to the section that defines its layout.
 */

/** UART transport packet indicators (Vol 4 Part A §2): the first byte of every socket packet. */
export const HCI_PACKET = {
  COMMAND: 0x01,
  ACL_DATA: 0x02,
  EVENT: 0x04,
} as const;

/** Command opcodes (Vol 4 Part E §7.1 link control, §7.3 controller, §7.4 info, §7.5, §7.8 LE). */
export const HCI_COMMAND = {
  /** §7.1.6: Connection_Handle(2), Reason(1); answered with Command Status. */
  DISCONNECT: 0x0406,
  /** §7.3.1: Event_Mask(8). */
  SET_EVENT_MASK: 0x0c01,
  /** §7.3.2. */
  RESET: 0x0c03,
  /** §7.3.78: returns LE_Supported_Host(1), Unused(1). */
  READ_LE_HOST_SUPPORT: 0x0c6c,
  /** §7.3.79: LE_Supported_Host(1), Unused(1). */
  WRITE_LE_HOST_SUPPORT: 0x0c6d,
  /** §7.4.1: returns HCI_Version(1), HCI_Subversion(2), LMP_Version(1), Company(2), LMP_Subversion(2). */
  READ_LOCAL_VERSION: 0x1001,
  /** §7.4.2: returns Supported_Commands(64). */
  READ_LOCAL_SUPPORTED_COMMANDS: 0x1002,
  /** §7.4.5: returns ACL_Data_Packet_Length(2), SCO length(1), Total_Num_ACL(2), Total_Num_SCO(2). */
  READ_BUFFER_SIZE: 0x1005,
  /** §7.4.6: returns BD_ADDR(6). */
  READ_BD_ADDR: 0x1009,
  /** §7.5.4: Handle(2); returns Handle(2), RSSI(1, signed dBm). */
  READ_RSSI: 0x1405,
  /** §7.8.1: LE_Event_Mask(8). */
  LE_SET_EVENT_MASK: 0x2001,
  /** §7.8.2: returns LE_ACL_Data_Packet_Length(2), Total_Num_LE_ACL_Data_Packets(1). */
  LE_READ_BUFFER_SIZE: 0x2002,
  /** §7.8.3: returns LE_Features(8). */
  LE_READ_LOCAL_SUPPORTED_FEATURES: 0x2003,
  /** §7.8.4: Random_Address(6). */
  LE_SET_RANDOM_ADDRESS: 0x2005,
  /** §7.8.5: interval min/max(2+2), type(1), own/peer address type(1+1), peer(6), channels(1), filter(1). */
  LE_SET_ADVERTISING_PARAMETERS: 0x2006,
  /** §7.8.7: Data_Length(1), Data(31). */
  LE_SET_ADVERTISING_DATA: 0x2008,
  /** §7.8.8: Data_Length(1), Data(31). */
  LE_SET_SCAN_RESPONSE_DATA: 0x2009,
  /** §7.8.9: Advertising_Enable(1). */
  LE_SET_ADVERTISING_ENABLE: 0x200a,
  /** §7.8.10: type(1), interval(2), window(2), own address type(1), filter policy(1). */
  LE_SET_SCAN_PARAMETERS: 0x200b,
  /** §7.8.11: LE_Scan_Enable(1), Filter_Duplicates(1). */
  LE_SET_SCAN_ENABLE: 0x200c,
  /**
   * §7.8.12: scan interval/window(2+2), filter policy(1), peer type(1), peer(6), own type(1),
   * interval min/max(2+2), latency(2), supervision timeout(2), CE length min/max(2+2); answered
   * with Command Status.
   */
  LE_CREATE_CONNECTION: 0x200d,
  /** §7.8.13. */
  LE_CREATE_CONNECTION_CANCEL: 0x200e,
  /** §7.8.18: Handle(2), interval min/max(2+2), latency(2), timeout(2), CE min/max(2+2); Command Status. */
  LE_CONNECTION_UPDATE: 0x2013,
} as const;

/** Event codes (Vol 4 Part E §7.7). */
export const HCI_EVENT = {
  /** §7.7.5: Status(1), Connection_Handle(2), Reason(1). */
  DISCONNECTION_COMPLETE: 0x05,
  /** §7.7.14: Num_HCI_Command_Packets(1), Command_Opcode(2), Return_Parameters (Status first). */
  COMMAND_COMPLETE: 0x0e,
  /** §7.7.15: Status(1), Num_HCI_Command_Packets(1), Command_Opcode(2). */
  COMMAND_STATUS: 0x0f,
  /** §7.7.19: Num_Handles(1), then per handle Connection_Handle(2), Num_Completed_Packets(2). */
  NUMBER_OF_COMPLETED_PACKETS: 0x13,
  /** §7.7.26: Link_Type(1) (0x01: ACL). */
  DATA_BUFFER_OVERFLOW: 0x1a,
  /** §7.7.65: Subevent_Code(1), then the subevent's parameters. */
  LE_META: 0x3e,
} as const;

/** LE meta subevent codes (Vol 4 Part E §7.7.65). */
export const LE_SUBEVENT = {
  /**
   * §7.7.65.1: Status(1), Handle(2), Role(1), Peer_Address_Type(1), Peer_Address(6),
   * Connection_Interval(2), Peripheral_Latency(2), Supervision_Timeout(2), Central_Clock_Accuracy(1).
   */
  CONNECTION_COMPLETE: 0x01,
  /** §7.7.65.2: Num_Reports(1), Event_Type(1), Address_Type(1), Address(6), Data_Length(1), Data, RSSI(1). */
  ADVERTISING_REPORT: 0x02,
  /** §7.7.65.3: Status(1), Handle(2), Connection_Interval(2), Peripheral_Latency(2), Supervision_Timeout(2). */
  CONNECTION_UPDATE_COMPLETE: 0x03,
} as const;

/** Error codes (Vol 1 Part F §1.3) the virtual controller returns. */
export const HCI_STATUS = {
  SUCCESS: 0x00,
  UNKNOWN_COMMAND: 0x01,
  UNKNOWN_CONNECTION_ID: 0x02,
  CONNECTION_TIMEOUT: 0x08,
  COMMAND_DISALLOWED: 0x0c,
  INVALID_PARAMETERS: 0x12,
  REMOTE_USER_TERMINATED: 0x13,
  LOCAL_HOST_TERMINATED: 0x16,
} as const;

/** Legacy advertising PDU types (Vol 6 Part B §2.3) as LE Advertising Report event types. */
export const ADVERTISING_REPORT_TYPE = {
  ADV_IND: 0x00,
  ADV_DIRECT_IND: 0x01,
  ADV_SCAN_IND: 0x02,
  ADV_NONCONN_IND: 0x03,
  SCAN_RSP: 0x04,
} as const;

/** ACL Packet_Boundary_Flag values (Vol 4 Part E §5.4.2). */
export const ACL_BOUNDARY = {
  /** Host to controller only: first fragment, not automatically flushable (what LE hosts send). */
  FIRST_NON_FLUSHABLE: 0b00,
  CONTINUING: 0b01,
  /** The only start a controller sends its host. */
  FIRST_FLUSHABLE: 0b10,
} as const;

/** Set_Event_Mask after Reset (§7.3.1): every classic event, LE meta (bit 61) off. */
export const DEFAULT_EVENT_MASK = 0x00001fffffffffffn;
/** LE_Set_Event_Mask after Reset (§7.8.1): the first five LE subevents. */
export const DEFAULT_LE_EVENT_MASK = 0x1fn;
