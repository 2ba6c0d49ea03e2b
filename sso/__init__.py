"""OpenID Connect provider and sign-in: the sign-in pages (`pages`), the protocol endpoints
(`blueprint`), Authlib's authorization server (`server`) and back-channel logout; `door.init_app`
puts them onto an application."""
