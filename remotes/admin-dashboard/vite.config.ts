// Built like every remote: see ../vite.remote.ts.
import { remoteConfig } from "../vite.remote";

export default remoteConfig(new URL("./", import.meta.url));
