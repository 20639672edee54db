"""What the product does, one subpackage per area (``forum``, ``accounts``, ``deflection``, ``ideas``,
``moderation``, ``tickets``).  Services validate, raise ``errors.ServiceError`` and never commit."""
