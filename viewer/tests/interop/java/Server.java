// The interoperability matrix's Java client: a JDK-only HTTP server the OpenTelemetry Java agent
// instruments (its java-http-server, java-http-client and java-util-logging instrumentations).
// Usage: java -javaagent:opentelemetry-javaagent.jar Server.java TRANSPORT (or compiled: Server).
// It listens on 127.0.0.1, port 0, and prints `listening PORT` on stdout. Routes:
// - GET /interop: calls GET /backend on itself with java.net.http.HttpClient (the agent's
//   client span, and traceparent header), logs "order failed over TRANSPORT" at WARNING while
//   the server span is current, and answers with the traceparent /backend received;
// - GET /backend: answers with the traceparent header it received;
// - GET /stop: answers, then exits the JVM, whose shutdown makes the agent export what is left.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

public class Server {
  private static final Logger LOG = Logger.getLogger("interop.orders");

  public static void main(String[] args) throws IOException {
    String transport = args.length > 0 ? args[0] : "unknown";
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    int port = server.getAddress().getPort();
    HttpClient client = HttpClient.newHttpClient();
    URI backend = URI.create("http://127.0.0.1:" + port + "/backend");
    server.createContext(
        "/backend",
        exchange -> {
          String traceparent = exchange.getRequestHeaders().getFirst("traceparent");
          reply(exchange, traceparent == null ? "" : traceparent);
        });
    server.createContext(
        "/interop",
        exchange -> {
          HttpResponse<String> response;
          try {
            response =
                client.send(
                    HttpRequest.newBuilder(backend).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
          }
          LOG.warning("order failed over " + transport);
          reply(exchange, response.body());
        });
    server.createContext(
        "/stop",
        exchange -> {
          reply(exchange, "bye");
          new Thread(
                  () -> {
                    server.stop(0);
                    System.exit(0);
                  })
              .start();
        });
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    System.out.println("listening " + port);
    System.out.flush();
  }

  private static void reply(HttpExchange exchange, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
