"""Payment links: a person or creator asks for money with a link (fixed amount or
pay-what-you-want above a minimum); anyone with a wallet pays it in one transaction."""
