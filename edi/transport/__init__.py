"""Moving files to and from trading partners: SFTP, local folders, OpenPGP."""
