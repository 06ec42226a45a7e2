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

/** A call that signs in: its answer becomes the session. */
async function signIn(path: string, body: unknown): Promise<Session> {
  const session = (await (await call('POST', path, body)).json()) as Session;
  sessionStore.set(session);
  return session;
}

export const login = (email: string, password: string): Promise<Session> => signIn('/v1/auth/login', { email, password });

export async function logout(): Promise<void> {
  await call('POST', '/v1/auth/logout');
  sessionStore.set(null);
}

export async function checkSetupToken(token: string): Promise<void> {
  await call('GET', `/v1/auth/setup?token=${encodeURIComponent(token)}`);
}

export const completeSetup = (params: { token: string; email: string; password: string; name?: string }): Promise<Session> => signIn('/v1/auth/setup', params);

/** Your own password (`POST /v1/auth/password`): your other sessions end, this one stays. */
export async function changePassword(params: { current_password: string; new_password: string }): Promise<void> {
  await call('POST', '/v1/auth/password', params);
}

/** What an invitation link offers: its email and role (410 `invitation_invalid` when it cannot be used). */
export async function checkInvitation(token: string): Promise<{ email: string; role: 'viewer' | 'admin'; expires_at: string }> {
  return (await (await call('GET', `/v1/auth/invitation?token=${encodeURIComponent(token)}`)).json()) as { email: string; role: 'viewer' | 'admin'; expires_at: string };
}

/** Joins with an invitation link and signs in. */
export const acceptInvitation = (params: { token: string; password: string; name?: string }): Promise<Session> => signIn('/v1/auth/invitation', params);
