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

/**
 * Writes mail to the log instead of sending it. The body carries one-time links, which is the
 * point in development; with `includeBody: false` (a deployment without a mail provider yet) only
 * the envelope is logged, since a link in a log line is a credential for whoever reads the logs.
 */
export class LogMailer implements Mailer {
  readonly kind = "log";
  readonly #log: (fields: Record<string, unknown>, message: string) => void;
  readonly #from: string;
  readonly #includeBody: boolean;

  constructor(from: string, log: (fields: Record<string, unknown>, message: string) => void, options: { includeBody: boolean }) {
    this.#from = from;
    this.#log = log;
    this.#includeBody = options.includeBody;
  }

  async send(message: MailMessage): Promise<void> {
    const envelope = { from: this.#from, to: message.to, subject: message.subject };
    if (this.#includeBody) {
      this.#log({ mail: { ...envelope, body: message.text } }, `mail (not sent, development transport): ${message.subject}`);
    } else {
      this.#log(
        { mail: envelope },
        `mail NOT sent: no mail provider is configured, and its one-time link is kept out of the log: ${message.subject}`,
      );
    }
  }
}
