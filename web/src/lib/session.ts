import type { User } from '../../../src/sdk/client.js';
import { apiErrorOf } from '../../../src/sdk/http.js';
import { createStore } from './store.js';

export interface Session {
  user: User;
  expires_at: string;
}

/** undefined: not known yet; null: signed out. */
export const sessionStore = createStore<Session | null | undefined>(undefined);

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await apiErrorOf(response);
  return response;
}

/** The signed-in person, or null (`GET /v1/auth/session`). */
export async function loadSession(): Promise<Session | null> {
  try {
    const session = (await (await call('GET', '/v1/auth/session')).json()) as Session;
    sessionStore.set(session);
    return session;
  } catch (error) {
    if ((error as { status?: number }).status === 401) {
      sessionStore.set(null);
      return null;
    }
    throw error;
  }
}

export async function login(email: string, password: string): Promise<Session> {
  const session = (await (await call('POST', '/v1/auth/login', { email, password })).json()) as Session;
  sessionStore.set(session);
  return session;
}

export async function logout(): Promise<void> {
  await call('POST', '/v1/auth/logout');
  sessionStore.set(null);
}

export async function checkSetupToken(token: string): Promise<void> {
  await call('GET', `/v1/auth/setup?token=${encodeURIComponent(token)}`);
}

export async function completeSetup(params: { token: string; email: string; password: string; name?: string }): Promise<Session> {
  const session = (await (await call('POST', '/v1/auth/setup', params)).json()) as Session;
  sessionStore.set(session);
  return session;
}
