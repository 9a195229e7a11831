/**
 * A small OpenAI-compatible server on 127.0.0.1 for tests, answering as the OpenAI API reference
 * documents: `POST /v1/chat/completions` takes {model, messages: [{role, content}], response_format?}
 * and returns {id, object: "chat.completion", created, model, choices: [{index, message: {role:
 * "assistant", content}, finish_reason: "stop"}], usage}; `POST /v1/embeddings` takes {model, input:
 * string | string[]} and returns {object: "list", data: [{object: "embedding", index, embedding}],
 * model, usage}. Errors are {error: {message, type, code}} with an HTTP status. Every request body is
 * recorded so tests can check what rfm sent.
 */
import {createServer, IncomingMessage, Server, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

// the request/reply shapes are the plugin kit's testing contract (plugins type their tests with them)
import type {ChatReply, ChatRequest, OpenAiServer} from '@rfm/plugin-kit/testing'

export type {ChatReply, ChatRequest, OpenAiServer}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {'content-type': 'application/json'})
  res.end(JSON.stringify(body))
}

async function body(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

export async function startOpenAiServer(options: {chat?: (req: ChatRequest) => ChatReply; embed?: (text: string) => number[]}): Promise<OpenAiServer> {
  const chats: ChatRequest[] = []
  const embeddingRequests: OpenAiServer['embeddingRequests'] = []
  const server: Server = createServer(async (req, res) => {
    try {
      const b = await body(req)
      if (req.method === 'POST' && req.url === '/v1/chat/completions' && options.chat) {
        chats.push(b)
        const reply = options.chat(b)
        if ('status' in reply) return json(res, reply.status, {error: {message: reply.message, type: 'invalid_request_error', code: null}})
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
        if (res.destroyed) return
        return json(res, 200, {
          id: `chatcmpl-${chats.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: b.model,
          choices: [{index: 0, message: {role: 'assistant', content: reply.content}, finish_reason: 'stop'}],
          usage: {prompt_tokens: 10, completion_tokens: 5, total_tokens: 15},
        })
      }
      if (req.method === 'POST' && req.url === '/v1/embeddings' && options.embed) {
        embeddingRequests.push(b)
        const input: string[] = Array.isArray(b.input) ? b.input : [b.input]
        return json(res, 200, {
          object: 'list',
          data: input.map((t, index) => ({object: 'embedding', index, embedding: options.embed!(t)})),
          model: b.model,
          usage: {prompt_tokens: input.length, total_tokens: input.length},
        })
      }
      json(res, 404, {error: {message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error', code: null}})
    } catch (error) {
      json(res, 500, {error: {message: (error as Error).message, type: 'server_error', code: null}})
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    chats,
    embeddingRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The grader's three fields, read back from the user message rfm sends. */
export function gradedFields(req: ChatRequest): {question: string; gold: string; answer: string} {
  const user = req.messages.find((m) => m.role === 'user')?.content ?? ''
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(user)?.[1] ?? ''
  return {question: field('Question'), gold: field('Gold answer'), answer: field('Model answer')}
}

/** A port nothing listens on (bound and released at once). */
export async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const {port} = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
