"""The agents' wire: sockets that count every byte, HTTP/SSE on geventhttpclient, an RFC 6455 client,
kernel receive stamps, a link's round trips and rates (--link)."""
