import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Bearer-token check in constant time: both sides are hashed first, so the comparison does not
 * leak the token's length or where it first differs.
 */
export function makeTokenCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = crypto.createHash('sha256').update(token, 'utf8').digest();
  return (req) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    const given = crypto.createHash('sha256').update(m ? m[1] : '', 'utf8').digest();
    return crypto.timingSafeEqual(given, expected) && m !== null;
  };
}
