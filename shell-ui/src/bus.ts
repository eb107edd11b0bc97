// The shell owns the one bus remotes talk through; the messaging module is a
// shared singleton, so `shellBus()` in any remote returns this bus.
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";

export const bus = createEventBus<AugmentEvents>();
installShellBus(bus);
