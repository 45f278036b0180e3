// React binding for the odin client: <OdinProvider> shares one connection, useChannel subscribes.
export { OdinProvider, useConnectionState, useOdin, type OdinContextValue, type OdinProviderProps } from './provider.js';
export { useChannel, type UseChannelOptions, type UseChannelResult } from './use-channel.js';
export {
  ChannelStore,
  DEFAULT_KEEP,
  GAPS_KEPT,
  KEEP_MAX,
  type ChannelEvent,
  type ChannelGap,
  type ChannelHandlers,
  type ChannelView,
} from './channel-store.js';
