/**
 * The four media flows of the core and their fixed index, used for sockets,
 * latched sources and recipient lists: audio RTP, audio RTCP, video RTP,
 * video RTCP — the order of KEEPALIVE_PORTS too (SPEC §5).
 */
import type { Medium } from './api.js';

export const FLOW_AUDIO_RTP = 0;
export const FLOW_AUDIO_RTCP = 1;
export const FLOW_VIDEO_RTP = 2;
export const FLOW_VIDEO_RTCP = 3;
export const FLOW_COUNT = 4;

export const MEDIUM_AUDIO = 0;
export const MEDIUM_VIDEO = 1;

export function mediumIndex(m: Medium): number {
  return m === 'audio' ? MEDIUM_AUDIO : MEDIUM_VIDEO;
}

export function mediumOfIndex(i: number): Medium {
  return i === MEDIUM_AUDIO ? 'audio' : 'video';
}

export function flowIndex(medium: number, rtcp: boolean): number {
  return medium * 2 + (rtcp ? 1 : 0);
}

export function flowMedium(flow: number): number {
  return flow >> 1;
}

export function flowIsRtcp(flow: number): boolean {
  return (flow & 1) === 1;
}
