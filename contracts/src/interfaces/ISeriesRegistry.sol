// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISeriesRegistry
/// @notice Lists the collateral assets and the European, cash-settled option series Strikebook trades.
/// @dev Roles: LISTER_ROLE adds assets and lists series, PAUSER_ROLE pauses listing,
///      DEFAULT_ADMIN_ROLE (two-step transfer) grants roles.
interface ISeriesRegistry {
    /// @notice An option series.
    /// @param underlying ERC-20 the option is on; calls are collateralized in it.
    /// @param quote ERC-20 premiums, strikes and put collateral are paid in.
    /// @param strike Quote base units per whole unit (10**underlyingDecimals base units) of underlying.
    /// @param expiry Unix seconds; trading stops at `expiry`, settlement starts after the oracle price.
    /// @param isCall True for a call, false for a put.
    /// @param underlyingUnit 10**decimals of the underlying: base units per whole option.
    struct Series {
        address underlying;
        address quote;
        uint256 strike;
        uint256 expiry;
        bool isCall;
        uint256 underlyingUnit;
    }

    /// @notice An asset was added; `decimals` is read once from the token.
    event AssetAdded(address indexed asset, uint8 decimals);
    /// @notice A series was listed. `id` = keccak256(abi.encode(underlying, quote, strike, expiry, isCall)).
    event SeriesListed(
        bytes32 indexed id, address indexed underlying, address indexed quote, uint256 strike, uint256 expiry, bool isCall
    );

    /// @notice `asset` is the zero address, has no code or no usable `decimals()` (must be <= 36).
    error InvalidAsset(address asset);
    /// @notice `asset` was already added.
    error AssetAlreadyAdded(address asset);
    /// @notice `asset` was never added.
    error UnknownAsset(address asset);
    /// @notice Underlying and quote are the same token.
    error SameAsset(address asset);
    /// @notice The strike is zero or does not fit in 128 bits.
    error InvalidStrike(uint256 strike);
    /// @notice `expiry` is not after `nowTs`, or does not fit in 64 bits.
    error InvalidExpiry(uint256 expiry, uint256 nowTs);
    /// @notice The series is already listed.
    error SeriesExists(bytes32 id);
    /// @notice `underlying` already trades against `expected`; one quote asset per underlying keeps
    ///         the oracle price (per underlying and expiry) unambiguous.
    error QuoteMismatch(address underlying, address expected, address quote);
    /// @notice No series with this id.
    error UnknownSeries(bytes32 id);

    /// @notice Adds a collateral asset. Only LISTER_ROLE.
    function addAsset(address asset) external;

    /// @notice Lists a series and returns its id. Only LISTER_ROLE, not while paused.
    /// @param strike Quote base units per whole underlying, 0 < strike < 2**128.
    /// @param expiry Unix seconds, in the future, < 2**64.
    function listSeries(address underlying, address quote, uint256 strike, uint256 expiry, bool isCall)
        external
        returns (bytes32 id);

    /// @notice Stops listing. Only PAUSER_ROLE.
    function pause() external;
    /// @notice Resumes listing. Only PAUSER_ROLE.
    function unpause() external;

    /// @notice keccak256(abi.encode(underlying, quote, strike, expiry, isCall)).
    function seriesId(address underlying, address quote, uint256 strike, uint256 expiry, bool isCall)
        external
        pure
        returns (bytes32);

    /// @notice The series `id`; reverts with {UnknownSeries} if not listed.
    function getSeries(bytes32 id) external view returns (Series memory);

    /// @notice The series `id`, all fields zero if it is not listed (never reverts; the exchange uses it).
    function seriesOf(bytes32 id) external view returns (Series memory);

    /// @notice Whether `id` is listed.
    function isListed(bytes32 id) external view returns (bool);

    /// @notice Whether `asset` was added.
    function isAsset(address asset) external view returns (bool);

    /// @notice Decimals of an added asset (0 if unknown; check {isAsset}).
    function assetDecimals(address asset) external view returns (uint8);

    /// @notice The quote asset `underlying` trades against (zero before its first series).
    function quoteOf(address underlying) external view returns (address);
}
