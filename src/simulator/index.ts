/**
 * The provider simulator: a real HTTP server speaking the OpenAI, Anthropic and Gemini wire
 * formats with deterministic answers and injectable faults. `npm start` runs the gateway
 * against it offline; tests, chaos runs and benchmarks drive it.
 */
export { SIMULATOR_TOKEN_HEADER, startSimulator } from './server.ts';
export { parseModelConfig, parseSimulatorFile, SimConfigError } from './config-schema.ts';
export type { SimulatorFile } from './config-schema.ts';
export type {
  SimCall,
  SimCallFilter,
  SimFault,
  SimFaultSpec,
  SimLatency,
  SimModelConfig,
  SimProvider,
  SimSchedule,
  SimulatorHandle,
  SimulatorOptions,
} from './types.ts';
