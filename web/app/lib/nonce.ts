import { createContext, useContext } from "react";

/** The request's CSP nonce, for the inline scripts Remix renders. */
export const NonceContext = createContext<string | undefined>(undefined);

export function useNonce(): string | undefined {
  return useContext(NonceContext);
}
