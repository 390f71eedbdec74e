"""verdeelmodel: distribute the integratie-uitkering sociaal domein over gemeenten,
populations and lots; explain every euro."""

__version__ = "0.1.0"
