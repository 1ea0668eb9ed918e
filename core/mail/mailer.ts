/**
 * Outgoing email behind one interface, so accounts code never depends on a provider. Only the
 * development transport exists yet: it logs the message (reset and invitation links included) so
 * a developer can follow them. A production deployment plugs in an SMTP or HTTP provider here.
 */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  readonly kind: string;
  send(message: MailMessage): Promise<void>;
}

export class LogMailer implements Mailer {
  readonly kind = "log";
  readonly #log: (fields: Record<string, unknown>, message: string) => void;
  readonly #from: string;

  constructor(from: string, log: (fields: Record<string, unknown>, message: string) => void) {
    this.#from = from;
    this.#log = log;
  }

  async send(message: MailMessage): Promise<void> {
    // Development only: the body carries one-time links, which is the point of logging it here.
    this.#log({ mail: { from: this.#from, to: message.to, subject: message.subject, body: message.text } }, `mail (not sent, development transport): ${message.subject}`);
  }
}
